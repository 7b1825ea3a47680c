CREATE UNIQUE INDEX "notebooks_title_key" ON "notebooks" ("title");
--> statement-breakpoint
CREATE INDEX "notes_notebook_id_pinned_idx" ON "notes" ("notebook_id", "pinned");
