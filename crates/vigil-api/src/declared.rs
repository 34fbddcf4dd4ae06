//! The endpoints `vigil_service::ops` declares, as routes and as the
//! OpenAPI document. A JSON operation needs nothing here but its name in
//! [`routes`]: one handler ([`serve`]) takes its path argument, query or
//! body, opens the store as the caller and runs it through
//! `vigil_service::op::call`. The other endpoints (streams, logins, the
//! live status) have handlers of their own that take their path from the
//! same declaration ([`at`]).

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::handler::Handler;
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, Required, ResponseBuilder};
use vigil_service::op::{self, Endpoint, Input, InputDoc, Method, Operation};
use vigil_service::ops;

use crate::context::{with_identity, ApiError, ApiState, Who};

/// An error as every endpoint sends it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable: `refused`, `not_found`, `bad_request`, `store`.
    pub code: String,
    /// What and why.
    pub message: String,
}

/// The OpenAPI document's description and error shape; its paths come
/// from the declarations ([`openapi`]).
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    info(
        title = "Vigil API",
        description = "vigild's HTTP/JSON API: a Unix socket for local users (identity from SO_PEERCRED), TLS with session tokens for desks. See docs/api.md."
    ),
    components(schemas(ErrorBody))
)]
pub struct ApiDoc;

/// Runs the JSON operation `O` for the caller.
async fn serve<O: Operation>(
    State(state): State<ApiState>,
    who: Who,
    req: Request,
) -> Result<Json<serde_json::Value>, Response> {
    let (mut parts, body) = req.into_parts();
    let args: O::Args = if O::PATH.contains('{') {
        Path::<O::Args>::from_request_parts(&mut parts, &state)
            .await
            .map_err(IntoResponse::into_response)?
            .0
    } else {
        serde_json::from_value(serde_json::Value::Null).map_err(bad)?
    };
    let input: O::Input = match O::INPUT {
        Input::Query => {
            Query::<O::Input>::from_request_parts(&mut parts, &state)
                .await
                .map_err(IntoResponse::into_response)?
                .0
        }
        Input::Body => {
            Json::<O::Input>::from_request(Request::from_parts(parts, body), &state)
                .await
                .map_err(IntoResponse::into_response)?
                .0
        }
        Input::Nothing => serde_json::from_value(serde_json::json!({})).map_err(bad)?,
    };
    let doc = with_identity(&state, &who, move |s, id| op::call::<O>(s, id, args, input))
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(Json(doc))
}

fn bad(e: serde_json::Error) -> Response {
    ApiError::from(vigil_service::ServiceError::bad_request(e.to_string())).into_response()
}

/// `E`'s method, routed to `handler`.
pub(crate) fn at<E: Endpoint, H: Handler<T, ApiState>, T: 'static>(
    handler: H,
) -> MethodRouter<ApiState> {
    let filter = match E::METHOD {
        Method::Get => MethodFilter::GET,
        Method::Post => MethodFilter::POST,
    };
    on(filter, handler)
}

/// Adds the JSON operation `O` to `router`.
fn route<O: Operation>(router: Router<ApiState>) -> Router<ApiState> {
    router.route(O::PATH, at::<O, _, _>(serve::<O>))
}

/// The JSON operations' routes.
pub(crate) fn routes() -> Router<ApiState> {
    let mut r = Router::new();
    macro_rules! add {
        ($($o:ident),* $(,)?) => { $( r = route::<ops::$o>(r); )* };
    }
    vigil_service::each_operation!(add);
    r
}

/// Adds `E` to the OpenAPI document `doc`.
fn describe<E: Endpoint>(doc: &mut utoipa::openapi::OpenApi) {
    let error = |what: &str| {
        ResponseBuilder::new()
            .description(what)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    let mut o = OperationBuilder::new()
        .operation_id(Some(E::ID))
        .tag(E::TAG)
        .response(
            "200",
            ResponseBuilder::new()
                .description(E::OK)
                .content(E::OK_TYPE, ContentBuilder::new().build())
                .build(),
        );
    for (status, what) in E::ERRORS {
        o = o.response(status.to_string(), error(what));
    }
    if let (Some(kind), Some(a), Some(b)) = (
        <E::Args as op::Args>::KIND,
        E::PATH.find('{'),
        E::PATH.find('}'),
    ) {
        o = o.parameter(
            ParameterBuilder::new()
                .name(&E::PATH[a + 1..b])
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(E::ARG_DOC))
                .schema(Some(ObjectBuilder::new().schema_type(kind))),
        );
    }
    match E::input_doc() {
        InputDoc::Nothing => {}
        InputDoc::Query(params) => {
            for p in params {
                o = o.parameter(p);
            }
        }
        InputDoc::Body(name, schemas) => {
            o = o.request_body(Some(
                RequestBodyBuilder::new()
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name(name)))
                            .build(),
                    )
                    .required(Some(Required::True))
                    .build(),
            ));
            let components = doc.components.get_or_insert_with(Default::default);
            components.schemas.extend(schemas);
        }
    }
    let roles: Vec<&str> = E::ROLES.iter().map(|r| r.as_str()).collect();
    o = o.extensions(Some(
        utoipa::openapi::extensions::ExtensionsBuilder::new()
            .add("x-vigil-roles", roles)
            .add("x-vigil-read-audited", E::READ_AUDITED)
            .build(),
    ));
    let method = match E::METHOD {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
    };
    doc.paths
        .add_path_operation(E::PATH, vec![method], o.build());
}

/// The OpenAPI document: the API's description and error shape, and every
/// declared endpoint.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = <ApiDoc as utoipa::OpenApi>::openapi();
    macro_rules! each {
        ($($e:ident),* $(,)?) => { $( describe::<ops::$e>(&mut doc); )* };
    }
    vigil_service::each_operation!(each);
    vigil_service::each_other_endpoint!(each);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every declared endpoint is in the document under its method, with
    /// its path argument, its body's schema among the components and the
    /// roles that may call it.
    #[test]
    fn the_document_holds_every_declaration() {
        let doc = serde_json::to_value(openapi()).unwrap();
        let mut seen = 0;
        let mut check = |id: &str, method: Method, path: &str, input: Input, roles: &[&str]| {
            seen += 1;
            let m = if method == Method::Get { "get" } else { "post" };
            let o = &doc["paths"][path][m];
            assert_eq!(o["operationId"], id, "{path}: {o:#}");
            assert_eq!(o["x-vigil-roles"], serde_json::json!(roles), "{path}");
            if let (Some(a), Some(b)) = (path.find('{'), path.find('}')) {
                let name = &path[a + 1..b];
                let params = o["parameters"].as_array().unwrap();
                assert!(
                    params
                        .iter()
                        .any(|p| p["name"] == name && p["in"] == "path"),
                    "{path}"
                );
            }
            if input == Input::Body {
                let r = o["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{path}: no body schema"));
                let name = r.rsplit('/').next().unwrap();
                assert!(
                    doc["components"]["schemas"][name].is_object(),
                    "{path}: {name}"
                );
            }
            for (_, r) in o["responses"].as_object().unwrap() {
                assert!(
                    r["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{path}"
                );
            }
        };
        macro_rules! each {
            ($($e:ident),* $(,)?) => { $({
                type E = ops::$e;
                let roles: Vec<&str> = E::ROLES.iter().map(|r| r.as_str()).collect();
                check(E::ID, E::METHOD, E::PATH, E::INPUT, &roles);
            })* };
        }
        vigil_service::each_operation!(each);
        vigil_service::each_other_endpoint!(each);
        assert_eq!(seen, 47);
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    }
}
