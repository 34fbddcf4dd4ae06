//! What an operation is: its method and path, the roles that may call it,
//! whether it leaves a read row in the audit log, what it takes (path
//! arguments, a query or a JSON body) and what it answers. Each operation
//! is declared once, in [`crate::ops`]; the API's router and its OpenAPI
//! document, the CLI's client (over the socket or in-process) and the desk
//! all reach it through that declaration.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::Parameter;
use utoipa::openapi::{RefOr, Schema};
use vigil_store::Store;

use crate::identity::{Identity, Role};
use crate::station::Station;
use crate::ServiceError;

/// An HTTP method the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A read: its input is the query string.
    Get,
    /// An action: its input is a JSON body.
    Post,
}

/// Where an endpoint's input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Nowhere: the path says it all (a body is not read).
    Nothing,
    /// A JSON body.
    Body,
    /// The query string.
    Query,
}

/// How an endpoint's input is described in the OpenAPI document.
pub enum InputDoc {
    /// Nothing beyond the path.
    Nothing,
    /// A JSON body of the named schema, with the schemas it needs.
    Body(String, Vec<(String, RefOr<Schema>)>),
    /// Query parameters.
    Query(Vec<Parameter>),
}

impl std::fmt::Debug for InputDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Nothing => f.write_str("Nothing"),
            Self::Body(name, _) => write!(f, "Body({name})"),
            Self::Query(p) => write!(f, "Query({} parameters)", p.len()),
        }
    }
}

/// One endpoint of the API, as the router, the OpenAPI document and the
/// clients know it. A JSON [`Operation`] is also run through [`call`];
/// the rest (streams, logins, the live status) have a handler of their own
/// in `vigil-api` that takes its path and roles from here.
pub trait Endpoint: 'static {
    /// The OpenAPI operation id.
    const ID: &'static str;
    /// Its method.
    const METHOD: Method;
    /// Its path, `{name}` for the path argument.
    const PATH: &'static str;
    /// Its group in the OpenAPI document.
    const TAG: &'static str;
    /// The roles that may call it.
    const ROLES: &'static [Role];
    /// What it does, as a refusal names it ("… and {WHAT} needs one of …").
    const WHAT: &'static str;
    /// It leaves a read row in the audit log (R20).
    const READ_AUDITED: bool;
    /// What a success holds.
    const OK: &'static str;
    /// A success's content type.
    const OK_TYPE: &'static str;
    /// Other answers: status and what it means.
    const ERRORS: &'static [(u16, &'static str)];
    /// What the path argument names (empty when there is none).
    const ARG_DOC: &'static str;
    /// The path argument: `()`, or one value.
    type Args: Args;
    /// Where its input comes from.
    const INPUT: Input;
    /// The query or JSON body; [`Empty`] for none.
    type Input: Serialize + DeserializeOwned + Send + 'static;
    /// The input as the OpenAPI document describes it.
    fn input_doc() -> InputDoc;
    /// The path with `args` in place of its `{name}`.
    fn path(args: &Self::Args) -> String {
        args.fill(Self::PATH)
    }
}

/// An endpoint that is one service call answering a JSON document.
pub trait Operation: Endpoint {
    /// Does the work, once the role is checked ([`call`]).
    fn run(
        store: &mut Store,
        id: &Identity,
        args: Self::Args,
        input: Self::Input,
    ) -> Result<serde_json::Value, ServiceError>;
}

/// Runs `O` for `id`: the role check, then the work. The one way an
/// operation is run, by the API, the desk and the CLI in-process.
pub fn call<O: Operation>(
    station: &mut Station,
    id: &Identity,
    args: O::Args,
    input: O::Input,
) -> Result<serde_json::Value, ServiceError> {
    let store = &mut station.store;
    allow::<O>(id)?;
    O::run(store, id, args, input)
}

/// Refuses `id` unless its role may call `E`.
pub fn allow<E: Endpoint>(id: &Identity) -> Result<(), ServiceError> {
    id.require(E::ROLES, E::WHAT)
}

/// Whether `id`'s role may call `E` (a page offers a form only then; the
/// call itself is still checked by [`call`]).
pub fn may<E: Endpoint>(id: &Identity) -> bool {
    E::ROLES.contains(&id.role)
}

/// A path argument: none (`()`), a word or a number.
pub trait Args: DeserializeOwned + Send + 'static {
    /// The argument's type in the OpenAPI document, if there is one.
    const KIND: Option<utoipa::openapi::Type>;
    /// `path` with this argument in place of its `{name}`.
    fn fill(&self, path: &str) -> String;
}

/// Puts `value` where `path` has its one `{name}`.
fn fill_one(path: &str, value: &str) -> String {
    match (path.find('{'), path.find('}')) {
        (Some(a), Some(b)) if a < b => format!("{}{value}{}", &path[..a], &path[b + 1..]),
        _ => path.to_owned(),
    }
}

impl Args for () {
    const KIND: Option<utoipa::openapi::Type> = None;
    fn fill(&self, path: &str) -> String {
        path.to_owned()
    }
}

impl Args for String {
    const KIND: Option<utoipa::openapi::Type> = Some(utoipa::openapi::Type::String);
    fn fill(&self, path: &str) -> String {
        fill_one(path, self)
    }
}

impl Args for i64 {
    const KIND: Option<utoipa::openapi::Type> = Some(utoipa::openapi::Type::Integer);
    fn fill(&self, path: &str) -> String {
        fill_one(path, &self.to_string())
    }
}

/// No input: an empty query, or a body that is not read.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Empty {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_argument_takes_the_place_of_its_name() {
        assert_eq!(
            "g1".to_owned().fill("/api/v1/gaps/{gap}/reviews"),
            "/api/v1/gaps/g1/reviews"
        );
        assert_eq!(
            7i64.fill("/api/v1/holds/{hold}/release"),
            "/api/v1/holds/7/release"
        );
        assert_eq!(().fill("/api/v1/clips"), "/api/v1/clips");
    }
}
