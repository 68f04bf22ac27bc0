"""Credits: a double-entry ledger with holds for jobs, monthly allowances and payments."""
