-- Applies one transition of the table in sdq.job to one job (see apply_transition above).
-- KEYS and ARGV: as apply_transition takes them.
return apply_transition(KEYS, ARGV)
