pub mod login;
pub mod trunks;
