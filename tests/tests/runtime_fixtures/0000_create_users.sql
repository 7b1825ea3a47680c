-- hand-written fixture for the generated Db type
CREATE TABLE "users" ("id" INTEGER PRIMARY KEY, "name" TEXT NOT NULL);
--> statement-breakpoint
CREATE UNIQUE INDEX "users_name" ON "users" ("name");
