-- Hand-written data migration: count the words of notes written before 0004.
-- A word is a run of non-space characters; an empty body has 0 words.
UPDATE "notes"
SET "word_count" = CASE
    WHEN trim("body") = '' THEN 0
    ELSE length(trim("body")) - length(replace(trim("body"), ' ', '')) + 1
END
WHERE "word_count" IS NULL;
