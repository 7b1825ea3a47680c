CREATE TABLE "teams" (
	"id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
	"name" TEXT NOT NULL UNIQUE
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
	"email" TEXT NOT NULL UNIQUE,
	"name" TEXT NOT NULL,
	"bio" TEXT,
	"karma" INTEGER NOT NULL DEFAULT 0,
	"team_id" INTEGER,
	FOREIGN KEY ("team_id") REFERENCES "teams" ("id") ON DELETE CASCADE
);
--> statement-breakpoint
CREATE INDEX "users_team_id_name_idx" ON "users" ("team_id", "name");
