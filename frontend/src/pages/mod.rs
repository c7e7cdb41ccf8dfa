pub mod asterisk;
pub mod audit;
pub mod login;
pub mod trunks;
pub mod simulator;
pub mod routes;
