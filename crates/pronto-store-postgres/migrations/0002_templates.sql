-- Reply templates: a workspace's ready answers. Led by workspace_id like every tenant table;
-- a title is unique within its workspace (a duplicate is a conflict). created_by is the member
-- who wrote it (checked when it is created; no foreign key, so that the template outlives them).

CREATE SEQUENCE templates_id AS BIGINT;

CREATE TABLE templates (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    id BIGINT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    language TEXT,
    created_by BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX templates_title ON templates (workspace_id, title);
