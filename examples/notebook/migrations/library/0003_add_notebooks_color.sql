CREATE TABLE "temp"."__godwit_guard" ("msg" TEXT);
--> statement-breakpoint
CREATE TEMP TRIGGER "__godwit_guard_raise" BEFORE INSERT ON "__godwit_guard" BEGIN SELECT RAISE(ABORT, NEW."msg"); END;
--> statement-breakpoint
INSERT INTO "temp"."__godwit_guard" ("msg") SELECT 'cannot fill table "notebooks" column "color": the backfill gives NULL for a row' FROM "notebooks" WHERE ('blue') IS NULL LIMIT 1;
--> statement-breakpoint
DROP TABLE "temp"."__godwit_guard";
--> statement-breakpoint
CREATE TABLE "temp"."__godwit_seq" AS SELECT "seq" FROM "sqlite_sequence" WHERE "name" = 'notebooks';
--> statement-breakpoint
CREATE TABLE "__new_notebooks" (
	"id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
	"title" TEXT NOT NULL,
	"color" TEXT NOT NULL
);
--> statement-breakpoint
INSERT INTO "__new_notebooks" ("id", "title", "color") SELECT "id", "title", ('blue') FROM "notebooks";
--> statement-breakpoint
DROP TABLE "notebooks";
--> statement-breakpoint
ALTER TABLE "__new_notebooks" RENAME TO "notebooks";
--> statement-breakpoint
UPDATE "sqlite_sequence" SET "seq" = (SELECT "seq" FROM "temp"."__godwit_seq") WHERE "name" = 'notebooks' AND "seq" < (SELECT "seq" FROM "temp"."__godwit_seq");
--> statement-breakpoint
INSERT INTO "sqlite_sequence" ("name", "seq") SELECT 'notebooks', "seq" FROM "temp"."__godwit_seq" WHERE NOT EXISTS (SELECT 1 FROM "sqlite_sequence" WHERE "name" = 'notebooks');
--> statement-breakpoint
DROP TABLE "temp"."__godwit_seq";
