-- civiq schema, version 24: 帮办代办, a ticket taken for someone by a
-- helper keeps the helper's role (behalf.go); '' when the citizen took it.
-- Nothing of who the helper is.

ALTER TABLE tickets ADD COLUMN behalf_role TEXT NOT NULL DEFAULT '';
