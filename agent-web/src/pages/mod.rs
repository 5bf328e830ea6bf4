//! One screen per file, each drawn from the [`State`](crate::state::State)
//! by its `view`, sending [`Action`](crate::state::Action)s through the
//! app's [`Handlers`](crate::app::Handlers).

pub mod inbox;
pub mod login;
pub mod reports;
pub mod settings;
pub mod visitors;
