//! Request shapes that are not the stored model. Only this module knows the
//! legacy chan_sip API of Wazo <= 20.12 (seed docs 000/001); it translates
//! into the PJSIP model, which stays the single source of truth.

pub mod legacy;
