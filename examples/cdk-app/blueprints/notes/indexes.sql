CREATE INDEX IF NOT EXISTS idx_note_author_id ON note (author_id);
CREATE INDEX IF NOT EXISTS idx_note_updated_at ON note (updated_at);
CREATE INDEX IF NOT EXISTS idx_note_tag_tag_id ON note_tag (tag_id);
