ALTER TABLE "notes" RENAME COLUMN "title" TO "heading";
