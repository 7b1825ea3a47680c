CREATE TABLE "notebooks" (
	"id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
	"title" TEXT NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notes" (
	"id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
	"notebook_id" INTEGER NOT NULL,
	"title" TEXT NOT NULL,
	"body" TEXT NOT NULL,
	FOREIGN KEY ("notebook_id") REFERENCES "notebooks" ("id") ON DELETE CASCADE
);
