-- Reply templates: a workspace's ready answers. Led by workspace_id like every tenant table;
-- a title is unique within its workspace (a duplicate is a conflict). created_by is the member
-- who wrote it (checked when it is created; no foreign key, so that the template outlives them).

INSERT INTO id_counters (name, last) VALUES ('templates', 0);

CREATE TABLE templates (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    id INTEGER NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    language TEXT,
    created_by INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX templates_title ON templates (workspace_id, title);
