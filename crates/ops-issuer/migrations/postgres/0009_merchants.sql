-- Merchants (issue 12): the name the FI certifies for an account's POS terminals, set by
-- the operator once it has checked the business. NULL: not a merchant; terminals cannot
-- be registered by the account holder.
ALTER TABLE accounts ADD COLUMN merchant_name TEXT;
