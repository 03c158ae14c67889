-- tollbooth schema v6: which configured secret verified each delivery, so an operator rotating
-- secrets sees when the old one stops being used (NULL: trusted input or not verified).
ALTER TABLE deliveries ADD COLUMN secret_index INTEGER;
