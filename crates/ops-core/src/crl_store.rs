//! crl_store
