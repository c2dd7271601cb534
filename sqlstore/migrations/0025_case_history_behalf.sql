-- civiq schema, version 25: 帮办代办 on a case's moves: the history entry
-- of a move a helper made for the applicant (the case opened, the missing
-- materials brought, the result collected) keeps the helper's role
-- (behalf.go); '' when the applicant came. Nothing of who the helper is.

ALTER TABLE case_history ADD COLUMN on_behalf TEXT NOT NULL DEFAULT '';
