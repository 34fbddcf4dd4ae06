//! Every endpoint of the API, declared once: method and path, the roles
//! that may call it and what the refusal names, whether it leaves a read
//! row in the audit log (R20), its input and its answers, and for a JSON
//! operation the service function it runs. `vigil-api` routes and documents
//! these, `vigil-cli` calls them over the socket or in-process, and the
//! desk's forms run them through [`crate::op::call`].

use serde_json::Value;
use vigil_store::Store;

use crate::identity::{Identity, ADMIN, ANYONE, AUDIT, CUSTODY, EXPLAIN, REVIEW};
use crate::jobs::Sink;
use crate::op::{allow, Empty, Endpoint, InputDoc, Method, Operation};
use crate::station::Station;
use crate::ServiceError;
use crate::{
    auth, centre, checkpoints, custody, docks, explanations, jobs, queries, registry, reports,
    tagging,
};

/// The answers every endpoint may give besides its own.
pub const REFUSED: (u16, &str) = (403, "refused (the code says why)");
/// The store failed.
pub const STORE_FAILED: (u16, &str) = (500, "the store failed");

macro_rules! endpoint {
    (
        $(#[$doc:meta])*
        $name:ident = $id:literal: $method:ident $path:literal $(($arg_doc:literal))?, tag $tag:literal,
        roles $roles:expr, $what:literal, read $read:literal,
        input $kind:ident $input:ty,
        ok $ok:literal $(as $ok_type:literal)?,
        errors [$($err:expr),* $(,)?]
        $(, run |$s:ident, $i:ident, $a:tt: $args:ty, $inp:tt| $body:expr)?
        $(, args $only_args:ty)?
    ) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl Endpoint for $name {
            const ID: &'static str = $id;
            const METHOD: Method = Method::$method;
            const PATH: &'static str = $path;
            const TAG: &'static str = $tag;
            const ROLES: &'static [crate::Role] = $roles;
            const WHAT: &'static str = $what;
            const READ_AUDITED: bool = $read;
            const OK: &'static str = $ok;
            const OK_TYPE: &'static str = endpoint!(@ok_type $($ok_type)?);
            const ERRORS: &'static [(u16, &'static str)] = &[$($err),*];
            const ARG_DOC: &'static str = endpoint!(@arg_doc $($arg_doc)?);
            type Args = endpoint!(@args $($args)? $($only_args)?);
            type Input = $input;
            const INPUT: crate::op::Input = endpoint!(@kind $kind);
            fn input_doc() -> InputDoc {
                endpoint!(@input $kind $input)
            }
        }

        $(
            impl Operation for $name {
                fn run(
                    $s: &mut Store,
                    $i: &Identity,
                    $a: $args,
                    $inp: $input,
                ) -> Result<Value, ServiceError> {
                    $body
                }
            }
        )?
    };
    (@ok_type) => { "application/json" };
    (@ok_type $t:literal) => { $t };
    (@arg_doc) => { "" };
    (@arg_doc $t:literal) => { $t };
    (@args) => { () };
    (@args $t:ty) => { $t };
    (@kind none) => { crate::op::Input::Nothing };
    (@kind body) => { crate::op::Input::Body };
    (@kind query) => { crate::op::Input::Query };
    (@input none $t:ty) => { InputDoc::Nothing };
    (@input body $t:ty) => {{
        let mut schemas = Vec::new();
        <$t as utoipa::ToSchema>::schemas(&mut schemas);
        let name = <$t as utoipa::ToSchema>::name().into_owned();
        schemas.push((name.clone(), <$t as utoipa::PartialSchema>::schema()));
        InputDoc::Body(name, schemas)
    }};
    (@input query $t:ty) => {
        InputDoc::Query(<$t as utoipa::IntoParams>::into_params(|| {
            Some(utoipa::openapi::path::ParameterIn::Query)
        }))
    };
}

// Identity.

endpoint! {
    /// The caller as the service sees them.
    Whoami = "whoami": Get "/api/v1/whoami", tag "identity",
    roles ANYONE, "asking who you are", read false,
    input none Empty,
    ok "the caller as the service sees them: user, role, unix, via_as, officer, actor",
    errors [REFUSED, STORE_FAILED],
    run |_s, id, (): (), _q| Ok(queries::whoami(id))
}

endpoint! {
    /// A desk login over TLS (handled in `vigil-api`: it needs the peer).
    Login = "login": Post "/api/v1/login", tag "identity",
    roles ANYONE, "logging in", read false,
    input body auth::Login,
    ok "a session: token, user, expires_at",
    errors [(400, "not over TLS"), REFUSED, STORE_FAILED]
}

endpoint! {
    /// Ends the desk session that calls it.
    Logout = "logout": Post "/api/v1/logout", tag "identity",
    roles ANYONE, "logging out", read false,
    input none Empty,
    ok "{\"ended\": bool}",
    errors [REFUSED, STORE_FAILED]
}

endpoint! {
    /// Sets a user's desk password (their own, or anyone's for an admin).
    SetPassword = "set_password": Post "/api/v1/users/{user}/password" ("the Vigil user"), tag "identity",
    roles ANYONE, "setting a password", read false,
    input body auth::NewPassword,
    ok "{user, password_set}",
    errors [REFUSED, STORE_FAILED],
    run |s, id, user: String, p| auth::set_password(s, id, &user, &p.password)
}

// The station.

endpoint! {
    /// The live status board (served from vigild's own state).
    Status = "status": Get "/api/v1/status", tag "station",
    roles ANYONE, "reading the station's status", read false,
    input none Empty,
    ok "the live status board",
    errors [REFUSED, STORE_FAILED]
}

// Evidence.

endpoint! {
    /// The recordings, each with its tag; confidential ones only for the
    /// roles allowed (R17).
    Clips = "clips": Get "/api/v1/clips", tag "evidence",
    roles ANYONE, "listing clips", read true,
    input query queries::ClipQuery,
    ok "{\"clips\": [...]}, each with its tag; confidential ones only for the roles allowed (R17)",
    errors [REFUSED, STORE_FAILED],
    run |s, id, (): (), q| queries::clips(s, id, &q)
}

endpoint! {
    /// Re-hashes every stored object and checks the index and the log.
    Verify = "verify": Post "/api/v1/verify", tag "evidence",
    roles AUDIT, "verifying the store", read false,
    input none Empty,
    ok "application/x-ndjson: progress lines, then {\"result\": report} or {\"error\": ...}" as "application/x-ndjson",
    errors [REFUSED, STORE_FAILED]
}

endpoint! {
    /// Ingests a directory or a mounted card.
    Ingest = "ingest": Post "/api/v1/ingest", tag "evidence",
    roles CUSTODY, "ingesting", read false,
    input body jobs::IngestRequest,
    ok "application/x-ndjson: progress lines, then {\"result\": report} or {\"error\": ...}" as "application/x-ndjson",
    errors [REFUSED, STORE_FAILED]
}

endpoint! {
    /// Tags recordings with a case (R6, R11).
    Tag = "tag": Post "/api/v1/tags", tag "evidence",
    roles EXPLAIN, "tagging clips", read false,
    input body tagging::TagRequest,
    ok "{\"tagged\": N, \"skipped\": [{clip, path, ingested_at, reason}]}: what was tagged, and the officer's recordings a period could not place (no usable clock)",
    errors [(400, "nothing to tag"), REFUSED, STORE_FAILED],
    run |s, id, (): (), r| tagging::tag(s, id, &r)
}

endpoint! {
    /// What is overdue: untagged recordings, unexplained interruptions,
    /// unfiled cases.
    Overdue = "overdue": Get "/api/v1/overdue", tag "evidence",
    roles ANYONE, "listing overdue work", read false,
    input query tagging::OverdueQuery,
    ok "{untagged, unexplained, unfiled_cases}",
    errors [REFUSED, STORE_FAILED],
    run |s, _id, (): (), q| tagging::overdue(s, &q)
}

// The audit log.

endpoint! {
    /// The audit log's rows.
    Audit = "audit": Get "/api/v1/audit", tag "audit",
    roles AUDIT, "reading the audit log", read true,
    input query queries::AuditQuery,
    ok "{\"audit\": [...]}: seq, at, actor, action, subject, detail, prev_hash, hash",
    errors [REFUSED, STORE_FAILED],
    run |s, id, (): (), q| queries::audit(s, id, &q)
}

endpoint! {
    /// The newest signed checkpoint.
    Checkpoint = "checkpoint": Get "/api/v1/checkpoint", tag "audit",
    roles ANYONE, "reading the checkpoint", read false,
    input none Empty,
    ok "the newest signed checkpoint: checkpoint (the signed note, text to save), origin, size, root, signed_at, key (the station's verifier key), cosigned (the newest the centre's witness cosigned: checkpoint, size, received_at; null before any)",
    errors [(404, "none signed yet"), REFUSED, STORE_FAILED],
    run |s, id, (): (), _q| checkpoints::checkpoint(s, id)
}

endpoint! {
    /// Checks a kept checkpoint against today's log (the station checking
    /// itself; the offline check is `vigil checkpoint verify --proof`).
    CheckpointCheck = "checkpoint_check": Post "/api/v1/checkpoint/check", tag "audit",
    roles ANYONE, "checking a checkpoint", read false,
    input body checkpoints::Kept,
    ok "{ok, key, log_size, checkpoints: [{size, origin, holds, failure (not_a_checkpoint, other_key, log_shorter, rewritten, tampered), problem}]}",
    errors [STORE_FAILED],
    run |s, id, (): (), k| checkpoints::check(s, id, &k)
}

endpoint! {
    /// A consistency proof between two sizes of the log.
    Consistency = "consistency": Get "/api/v1/audit/consistency", tag "audit",
    roles ANYONE, "proving the log's consistency", read false,
    input query checkpoints::ConsistencyQuery,
    ok "the proof file: from, to, log_size, checkpoint (signed, of size to), proof (base64 hashes, RFC 9162 §2.1.4)",
    errors [(403, "refused: the log is shorter than the checkpoint held (the message names the size where they diverge)"), STORE_FAILED],
    run |s, id, (): (), q| checkpoints::consistency(s, id, &q)
}

endpoint! {
    /// Joins the agency centre: where the station sends its log, the
    /// centre's certificate (pinned) and its witness key (R10, R18).
    CentreJoin = "centre_join": Post "/api/v1/centre/join", tag "centre",
    roles ADMIN, "joining a centre", read false,
    input body centre::Join,
    ok "the link, the outbox and the newest cosigned checkpoint, as `GET /api/v1/centre`",
    errors [(400, "not an https://HOST:PORT address, a fingerprint or a witness key"), REFUSED, STORE_FAILED],
    run |s, id, (): (), j| centre::join(s, id, &j)
}

endpoint! {
    /// The station's link to its centre: link (url, fingerprint, witness,
    /// joined_at), log_size, outbox (applied, witnessed, last_contact,
    /// last_error, error_at), depth (entries not yet at the centre),
    /// cosigned (the newest checkpoint with the witness's cosignature).
    Centre = "centre": Get "/api/v1/centre", tag "centre",
    roles AUDIT, "reading the centre link", read false,
    input none Empty,
    ok "{link, log_size, outbox, depth, cosigned}",
    errors [REFUSED, STORE_FAILED],
    run |s, _id, (): (), _q| centre::status(s)
}

// Interruptions.

endpoint! {
    /// The gap log, overdue first.
    Gaps = "gaps": Get "/api/v1/gaps", tag "interruptions",
    roles ANYONE, "listing interruptions", read true,
    input query explanations::GapQuery,
    ok "{\"gaps\": [...]}, overdue first; status open, awaiting_signatures or explained",
    errors [REFUSED, STORE_FAILED],
    run |s, id, (): (), q| explanations::gaps(s, id, &q)
}

endpoint! {
    /// Files an explanation for an interruption (R8).
    Explain = "explain": Post "/api/v1/gaps/{gap}/explanations" ("the interruption"), tag "interruptions",
    roles EXPLAIN, "explaining an interruption", read false,
    input body explanations::Explain,
    ok "the explanation, with its id and the gap's status",
    errors [(404, "no such interruption"), REFUSED, STORE_FAILED],
    run |s, id, gap: String, how| explanations::explain(s, id, &gap, &how)
}

endpoint! {
    /// The acting officer signs a written explanation (R8).
    Sign = "sign": Post "/api/v1/explanations/{explanation}/signatures" ("the explanation"), tag "interruptions",
    roles EXPLAIN, "signing an explanation", read false,
    input none Empty,
    ok "{gap, explanation, officers, status}",
    errors [(404, "no such explanation"), REFUSED, STORE_FAILED],
    run |s, id, explanation: String, _b| explanations::sign(s, id, &explanation)
}

endpoint! {
    /// A supervisor's or auditor's review of an explanation (R9).
    Review = "review": Post "/api/v1/gaps/{gap}/reviews" ("the interruption"), tag "interruptions",
    roles REVIEW, "reviewing explanations", read false,
    input body explanations::Review,
    ok "{gap, verdict, reviewer, status}",
    errors [REFUSED, STORE_FAILED],
    run |s, id, gap: String, r| explanations::review(s, id, &gap, &r)
}

// The registry.

endpoint! {
    /// The Vigil users.
    Users = "users": Get "/api/v1/users", tag "registry",
    roles ANYONE, "listing users", read false,
    input none Empty,
    ok "{\"users\": [...]}",
    errors [REFUSED, STORE_FAILED],
    run |s, _id, (): (), _q| registry::users(s)
}

endpoint! {
    /// Adds a Vigil user.
    AddUser = "add_user": Post "/api/v1/users", tag "registry",
    roles ADMIN, "adding users", read false,
    input body registry::NewUser,
    ok "the user added",
    errors [REFUSED, STORE_FAILED],
    run |s, id, (): (), u| registry::add_user(s, id, &u)
}

endpoint! {
    /// Sets where a user's notices are sent: an admin anyone's, a user
    /// their own.
    SetEmail = "set_email": Post "/api/v1/users/{user}/email" ("the Vigil user"), tag "registry",
    roles ANYONE, "setting e-mail addresses", read false,
    input body registry::NewEmail,
    ok "{user, email}",
    errors [REFUSED, STORE_FAILED],
    run |s, id, user: String, e| registry::set_email(s, id, &user, &e)
}

endpoint! {
    /// The registered officers.
    Officers = "officers": Get "/api/v1/officers", tag "registry",
    roles ANYONE, "listing officers", read false,
    input none Empty,
    ok "{\"officers\": [...]}",
    errors [REFUSED, STORE_FAILED],
    run |s, _id, (): (), _q| registry::officers(s)
}

endpoint! {
    /// Registers an officer, or updates one (R16).
    AddOfficer = "add_officer": Post "/api/v1/officers", tag "registry",
    roles CUSTODY, "registering officers", read false,
    input body registry::NewOfficer,
    ok "the officer as registered",
    errors [REFUSED, STORE_FAILED],
    run |s, id, (): (), o| registry::upsert_officer(s, id, &o)
}

endpoint! {
    /// The recorders, with their binding history.
    Devices = "devices": Get "/api/v1/devices", tag "registry",
    roles ANYONE, "listing recorders", read false,
    input none Empty,
    ok "{\"devices\": [...]} with binding history",
    errors [REFUSED, STORE_FAILED],
    run |s, _id, (): (), _q| registry::devices(s)
}

endpoint! {
    /// Registers a recorder (R3).
    AddDevice = "add_device": Post "/api/v1/devices", tag "registry",
    roles CUSTODY, "registering recorders", read false,
    input body registry::NewDevice,
    ok "the recorder registered",
    errors [REFUSED, STORE_FAILED],
    run |s, id, (): (), d| registry::add_device(s, id, &d)
}

endpoint! {
    /// Binds a recorder to an officer from a time on (R3).
    Bind = "bind": Post "/api/v1/devices/{serial}/bindings" ("the recorder"), tag "registry",
    roles CUSTODY, "binding recorders", read false,
    input body registry::Binding,
    ok "{serial, officer, from}",
    errors [REFUSED, STORE_FAILED],
    run |s, id, serial: String, b| registry::bind(s, id, &serial, &b)
}

// Reports.

endpoint! {
    /// A report in the format asked for (handled in `vigil-api`: it is
    /// rendered in the station's zone, not as JSON).
    Report = "report": Get "/api/v1/reports/{kind}" ("ingest, gaps or stats"), tag "reports",
    roles ANYONE, "reading reports", read true,
    input query reports::ReportQuery,
    ok "the report in the format asked for: text/plain, text/csv, application/json or text/html" as "text/plain",
    errors [(400, "not a format, or not a period"), (404, "no such report"), REFUSED],
    args String
}

// Custody.

endpoint! {
    /// Sets recordings' retention class (R12).
    Retain = "retain": Post "/api/v1/retention", tag "custody",
    roles CUSTODY, "setting retention", read false,
    input body custody::Retain,
    ok "{clips, class}",
    errors [(400, "not a class"), REFUSED, (404, "no such clip")],
    run |s, id, (): (), r| custody::retain(s, id, &r)
}

endpoint! {
    /// Places legal holds (R12).
    Hold = "hold": Post "/api/v1/holds", tag "custody",
    roles CUSTODY, "placing holds", read false,
    input body custody::Hold,
    ok "{holds: [id...], clips, reason}",
    errors [(400, "not a reason"), REFUSED, (404, "no such clip")],
    run |s, id, (): (), h| custody::hold(s, id, &h)
}

endpoint! {
    /// Releases a hold.
    Release = "release": Post "/api/v1/holds/{hold}/release" ("the hold"), tag "custody",
    roles CUSTODY, "releasing holds", read false,
    input none Empty,
    ok "{hold, released}",
    errors [REFUSED],
    run |s, id, hold: i64, _b| custody::release(s, id, hold)
}

endpoint! {
    /// Records that a case was closed or filed (R12).
    Case = "case": Post "/api/v1/cases", tag "custody",
    roles CUSTODY, "recording case events", read false,
    input body custody::CaseEvent,
    ok "{case, closed_at, filed_at}",
    errors [(400, "no time, or not RFC 3339"), REFUSED],
    run |s, id, (): (), e| custody::case_event(s, id, &e)
}

endpoint! {
    /// The removal dry run: what is due and what is queued (R12).
    PurgePlan = "purge_plan": Get "/api/v1/purge", tag "custody",
    roles ANYONE, "listing clips due for removal", read false,
    input query custody::PurgePolicy,
    ok "the dry run: {due, queue}",
    errors [REFUSED],
    run |s, _id, (): (), p| custody::purge_plan(s, p)
}

endpoint! {
    /// Proposes, approves, carries out or cancels a removal (R12).
    Purge = "purge": Post "/api/v1/purge", tag "custody",
    roles CUSTODY, "removing expired clips", read false,
    input body custody::Purge,
    ok "{proposed}, {approved, window_days}, {purged} or {cancelled}",
    errors [(403, "refused: not a custodian, or the proposer approving")],
    run |s, id, (): (), p| custody::purge(s, id, &p)
}

endpoint! {
    /// Marks recordings confidential (R17).
    Confidential = "confidential": Post "/api/v1/confidential", tag "custody",
    roles custody::MARKERS, "marking clips confidential", read false,
    input body custody::Confidential,
    ok "{clips, kind}",
    errors [(400, "not a kind"), REFUSED],
    run |s, id, (): (), c| custody::confidential(s, id, &c)
}

endpoint! {
    /// Asks for recordings to be released (R14, R16).
    Request = "request": Post "/api/v1/requests", tag "custody",
    roles ANYONE, "requesting a retrieval", read false,
    input body custody::NewRequest,
    ok "{request, clips, requester}",
    errors [(400, "no reason, or nothing named"), (404, "no such clip or case")],
    run |s, id, (): (), r| custody::request(s, id, &r)
}

endpoint! {
    /// The retrieval requests, newest first.
    Requests = "requests": Get "/api/v1/requests", tag "custody",
    roles ANYONE, "listing retrieval requests", read false,
    input query custody::RequestQuery,
    ok "{requests: [...]}, newest first (200 at most)",
    errors [(404, "another station's requests")],
    run |s, _id, (): (), q| custody::requests(s, &q)
}

endpoint! {
    /// A supervisor approves a retrieval (R16).
    Approve = "approve": Post "/api/v1/requests/{request}/approval" ("the request"), tag "custody",
    roles custody::APPROVERS, "approving a retrieval", read false,
    input none Empty,
    ok "{request, approved_by}",
    errors [(403, "refused: not a supervisor, or its requester"), (404, "no such request")],
    run |s, id, r: String, _b| custody::approve(s, id, &r)
}

endpoint! {
    /// A supervisor turns a retrieval down, saying why.
    Reject = "reject": Post "/api/v1/requests/{request}/rejection" ("the request"), tag "custody",
    roles custody::APPROVERS, "turning down a retrieval", read false,
    input body custody::Rejection,
    ok "{request, rejected_by, reason}",
    errors [(400, "no reason"), (403, "refused: not a supervisor, its requester, or decided already"), (404, "no such request")],
    run |s, id, r: String, why| custody::reject(s, id, &r, &why)
}

endpoint! {
    /// An approved request's package, streamed (R14, R16, R17).
    Export = "export_package": Post "/api/v1/requests/{request}/export" ("the approved request"), tag "custody",
    roles CUSTODY, "exporting evidence", read false,
    input none Empty,
    ok "application/x-tar: clips/..., MANIFEST.b3, MANIFEST.sha256, metadata.json; a stream that breaks off is not a package" as "application/x-tar",
    errors [(403, "refused: not approved, or a clip this user may not handle (R16, R17)"), (404, "no such request")],
    args String
}

endpoint! {
    /// Draws recordings for a spot check (R18).
    Draw = "draw": Post "/api/v1/spotchecks", tag "custody",
    roles AUDIT, "spot checks", read false,
    input body custody::Draw,
    ok "{drawn: [...]}",
    errors [(400, "bad count, seed or time"), REFUSED],
    run |s, id, (): (), d| custody::draw(s, id, &d)
}

endpoint! {
    /// The spot-check ledger.
    Spotchecks = "spotchecks": Get "/api/v1/spotchecks", tag "custody",
    roles AUDIT, "spot checks", read false,
    input none Empty,
    ok "{spotchecks: [...]}",
    errors [REFUSED],
    run |s, _id, (): (), _q| custody::spotchecks(s)
}

endpoint! {
    /// A reviewer's finding on a drawn recording (R18).
    Finding = "finding": Post "/api/v1/spotchecks/{entry}/findings" ("the ledger entry"), tag "custody",
    roles AUDIT, "spot checks", read false,
    input body custody::Finding,
    ok "{entry, reviewer}",
    errors [(400, "an empty finding"), REFUSED],
    run |s, id, entry: i64, f| custody::review(s, id, entry, &f)
}

// Docks named by hand (routed by `vigil-api` itself: a dock vigild
// serves is refused there before the operation runs).

endpoint! {
    /// A dock's slots.
    DockStatus = "dock_status": Get "/api/v1/docks/status", tag "docks",
    roles CUSTODY, "using a dock", read false,
    input query docks::DockPath,
    ok "{dock, slots}",
    errors [(400, "not a serial device"), (403, "refused: not a custodian, or a dock vigild serves"), (500, "the dock failed")],
    run |s, id, (): (), p| docks::status(s, id, &p.path)
}

endpoint! {
    /// Enrols a dock with the station key.
    DockEnroll = "dock_enroll": Post "/api/v1/docks/enroll", tag "docks",
    roles CUSTODY, "using a dock", read false,
    input body docks::DockPath,
    ok "{dock, firmware}",
    errors [(400, "not a serial device"), REFUSED, (500, "the dock failed")],
    run |s, id, (): (), p| docks::enroll(s, id, &p.path)
}

endpoint! {
    /// Empties the recorders docked there.
    DockPull = "dock_pull": Post "/api/v1/docks/pull", tag "docks",
    roles CUSTODY, "using a dock", read false,
    input body docks::PullRequest,
    ok "application/x-ndjson: progress lines, then {\"result\": {files, skipped, failed, recorders, link}} or {\"error\": ...}" as "application/x-ndjson",
    errors [REFUSED]
}

impl Verify {
    /// Re-reads the store for `id` (role checked), progress to `sink`.
    pub fn run(
        station: &mut Station,
        id: &Identity,
        sink: &mut dyn Sink,
    ) -> Result<vigil_store::VerifyReport, ServiceError> {
        allow::<Self>(id)?;
        jobs::verify(&mut station.store, id, sink)
    }
}

impl Ingest {
    /// Ingests what `req` names from `sources` for `id` (role checked),
    /// progress to `sink`.
    pub fn run(
        station: &mut Station,
        id: &Identity,
        req: &jobs::IngestRequest,
        sources: &crate::sources::Sources,
        sink: &mut dyn Sink,
    ) -> Result<Value, ServiceError> {
        allow::<Self>(id)?;
        jobs::ingest(&mut station.store, id, req, sources, sink)
    }
}

impl DockPull {
    /// Empties the recorders on the dock `r` names for `id` (role
    /// checked), progress to `sink`.
    pub fn run(
        station: &mut Station,
        id: &Identity,
        r: &docks::PullRequest,
        sink: &mut dyn Sink,
    ) -> Result<Value, ServiceError> {
        allow::<Self>(id)?;
        docks::pull(&mut station.store, id, r, sink)
    }
}

impl Export {
    /// The package of `request` for `id` (role checked), every check made
    /// before its first byte is written ([`crate::export::write`]).
    pub fn prepare(
        station: &Station,
        id: &Identity,
        request: &str,
    ) -> Result<crate::export::Plan, ServiceError> {
        allow::<Self>(id)?;
        crate::export::prepare(&station.store, id, request)
    }
}

impl Report {
    /// The report `kind` for `id` (role checked), rendered in `zone`.
    pub fn run(
        station: &mut Station,
        id: &Identity,
        kind: &str,
        q: &reports::ReportQuery,
        zone: &vigil_i18n::Zone,
    ) -> Result<reports::Report, ServiceError> {
        allow::<Self>(id)?;
        reports::report(&mut station.store, id, kind, q, zone)
    }
}

/// Calls `f` with the name of each JSON operation ([`Operation`]).
#[macro_export]
macro_rules! each_operation {
    ($f:ident) => {
        $f!(
            Whoami,
            SetPassword,
            Clips,
            Audit,
            Checkpoint,
            CheckpointCheck,
            Consistency,
            CentreJoin,
            Centre,
            Gaps,
            Explain,
            Sign,
            Review,
            Users,
            AddUser,
            SetEmail,
            Officers,
            AddOfficer,
            Devices,
            AddDevice,
            Bind,
            Tag,
            Overdue,
            Retain,
            Hold,
            Release,
            Case,
            PurgePlan,
            Purge,
            Confidential,
            Request,
            Requests,
            Approve,
            Reject,
            Draw,
            Spotchecks,
            Finding
        )
    };
}

/// Calls `f` with the name of each endpoint that is not a JSON operation
/// (its handler is in `vigil-api`).
#[macro_export]
macro_rules! each_other_endpoint {
    ($f:ident) => {
        $f!(Login, Logout, Status, Verify, Ingest, Report, Export, DockStatus, DockEnroll, DockPull)
    };
}
