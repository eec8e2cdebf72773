//! The OpenAPI document and the docs page: what they promise (every
//! operation, and the enums, bounds, patterns and required fields the
//! server checks), that the response check behind every test can fail,
//! and that `/docs` needs no internet.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::*;

async fn contract(app: &TestApp) -> &'static Contract {
    // Any request loads the served document.
    app.request(Method::GET, "/health/live", None, None).await;
    Contract::of(app.router()).await
}

http_tests! {
    async fn the_document_describes_every_operation_with_its_statuses_and_security(app) {
        let answer = app.request(Method::GET, "/api/v1/openapi.json", None, None).await;
        assert_eq!(answer.status, StatusCode::OK);
        let document = answer.json();
        assert!(document["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{document}");
        assert_eq!(contract(&app).await.document(), &document, "tests check against what is served");
        for component in ["User", "Ticket", "Requester", "Reply", "ErrorEnvelope", "Envelope_Ticket", "PageEnvelope_Ticket"] {
            assert!(document["components"]["schemas"].get(component).is_some(), "{component} missing");
        }
        let requester = &document["components"]["schemas"]["Requester"];
        assert_eq!(requester["additionalProperties"], false, "{requester}");
        assert_eq!(requester["required"], json!(["_id", "username"]), "{requester}");
        assert_eq!(document["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        let expected = [
            ("post", "/api/v1/login"),
            ("post", "/api/v1/pin-resets"),
            ("post", "/api/v1/pin-resets/{token}"),
            ("post", "/api/v1/users"),
            ("get", "/api/v1/users"),
            ("get", "/api/v1/users/me"),
            ("put", "/api/v1/users/me/pin"),
            ("get", "/api/v1/users/{id}"),
            ("patch", "/api/v1/users/{id}"),
            ("post", "/api/v1/tickets"),
            ("get", "/api/v1/tickets"),
            ("get", "/api/v1/tickets/{ticketId}"),
            ("put", "/api/v1/tickets/{ticketId}"),
            ("get", "/api/v1/tickets/resolved-report"),
            ("post", "/api/v1/tickets/{ticketId}/replies"),
            ("get", "/api/v1/tickets/{ticketId}/replies"),
            ("get", "/api/v1/openapi.json"),
        ];
        let mut documented = Vec::new();
        for (path, item) in document["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("operations") {
                documented.push((method.clone(), path.clone()));
                let statuses = operation["responses"].as_object().expect("responses");
                // A user's token, or the mail server's (inbound mail).
                let secured = operation["security"].as_array().is_some_and(|schemes| {
                    schemes
                        .iter()
                        .any(|s| s.get("bearer").is_some() || s.get("inbound_token").is_some())
                });
                if secured {
                    assert!(statuses.contains_key("401"), "{method} {path} takes a token but lists no 401");
                }
                if path.starts_with("/api/v1/") && path != "/api/v1/openapi.json" {
                    for status in ["500", "503"] {
                        assert!(statuses.contains_key(status), "{method} {path} lists no {status}");
                    }
                    // Logging in and resetting a PIN are for someone signed out.
                    let signed_out = ["/api/v1/login", "/api/v1/pin-resets", "/api/v1/pin-resets/{token}"];
                    if !signed_out.contains(&path.as_str()) {
                        assert!(secured, "{method} {path} has no bearer scheme");
                    }
                }
                if operation.get("requestBody").is_some() {
                    for status in ["400", "413", "415"] {
                        assert!(statuses.contains_key(status), "{method} {path} lists no {status}");
                    }
                }
                for (status, response) in statuses {
                    if status.starts_with('4') || status.starts_with('5') {
                        let schema = &response["content"]["application/json"]["schema"]["$ref"];
                        assert!(
                            schema.as_str().is_some_and(|r| r.ends_with("/ErrorEnvelope") || r.ends_with("/Unready")),
                            "{method} {path} {status} is not the error envelope: {response}"
                        );
                    }
                }
            }
        }
        for (method, path) in expected {
            assert!(
                documented.contains(&(method.to_owned(), path.to_owned())),
                "{method} {path} is not documented"
            );
        }
        let sign_up = &document["paths"]["/api/v1/users"]["post"]["security"];
        assert!(
            sign_up.as_array().is_some_and(|s| s.iter().any(|r| r.as_object().is_some_and(|o| o.is_empty()))),
            "sign-up needs no token: {sign_up}"
        );
    }
}

/// Whether `check` refuses this response.
fn refuses(
    contract: &Contract,
    method: Method,
    path: &str,
    status: StatusCode,
    body: Value,
) -> bool {
    // A success of a versioned read carries its ETag.
    refuses_with(contract, method, path, status, body, status.is_success())
}

/// Whether the check refuses the response, sent with an `ETag` or not.
fn refuses_with(
    contract: &Contract,
    method: Method,
    path: &str,
    status: StatusCode,
    body: Value,
    etag: bool,
) -> bool {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if etag {
        headers.insert(header::ETAG, HeaderValue::from_static("\"v1\""));
    }
    let bytes = body.to_string().into_bytes();
    catch_unwind(AssertUnwindSafe(|| {
        contract.check(&method, path, status, &headers, Some(&bytes))
    }))
    .is_err()
}

http_tests! {
    async fn the_response_check_behind_every_test_can_fail(app) {
        let contract = contract(&app).await;
        let user = json!({
            "_id": "1", "username": "kayode", "role": "CUSTOMER", "active": true,
            "createdAt": "2021-04-13T01:56:44.234Z", "updatedAt": "2021-04-13T01:56:44.234Z"
        });
        let me = json!({"error": false, "message": "ok", "data": user});
        let me_again = me.clone();
        assert!(!refuses(contract, Method::GET, "/api/v1/users/me", StatusCode::OK, me.clone()));
        // A status the operation does not list.
        assert!(refuses(contract, Method::GET, "/api/v1/users/me", StatusCode::IM_A_TEAPOT, me.clone()));
        // A body that drifted: a field missing, one added, a wrong type.
        let mut missing = me.clone();
        missing["data"].as_object_mut().map(|d| d.remove("role"));
        let mut added = me.clone();
        added["data"]["pinHash"] = json!("$argon2id$...");
        let mut retyped = me.clone();
        retyped["data"]["_id"] = json!(1);
        for drifted in [missing, added, retyped] {
            assert!(refuses(contract, Method::GET, "/api/v1/users/me", StatusCode::OK, drifted));
        }
        // A route the document does not know.
        assert!(refuses(contract, Method::GET, "/api/v1/undocumented", StatusCode::OK, me.clone()));
        assert!(refuses(contract, Method::DELETE, "/api/v1/users/me", StatusCode::OK, me));
        // The error envelope needs its request id.
        let error = json!({"error": true, "message": "x", "code": "unauthorized"});
        assert!(refuses(contract, Method::GET, "/api/v1/users/me", StatusCode::UNAUTHORIZED, error.clone()));
        let mut with_id = error;
        with_id["requestId"] = json!("abc");
        assert!(!refuses(contract, Method::GET, "/api/v1/users/me", StatusCode::UNAUTHORIZED, with_id.clone()));
        // A header of ours where the document does not list it, or an
        // ETag it promises missing.
        assert!(refuses_with(contract, Method::GET, "/api/v1/users/me", StatusCode::UNAUTHORIZED, with_id, true));
        assert!(refuses_with(contract, Method::GET, "/api/v1/users/me", StatusCode::OK, me_again, false));
    }
}

/// The relative asset links (`src` and `href`) of an HTML page.
fn asset_links(html: &str) -> Vec<String> {
    let mut links = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for piece in html.split(attribute).skip(1) {
            if let Some(link) = piece.split('"').next() {
                links.push(link.to_owned());
            }
        }
    }
    links
}

http_tests! {
    async fn docs_page_is_served_offline(app) {
        let redirect = app.request(Method::GET, "/docs", None, None).await;
        assert!(redirect.status.is_redirection(), "{}", redirect.status);
        let page = app.request(Method::GET, "/docs/", None, None).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.headers[header::CONTENT_TYPE].to_str().expect("ascii").starts_with("text/html"));
        let html = page.text();
        let links = asset_links(&html);
        assert!(links.len() >= 3, "{html}");
        for link in &links {
            assert!(
                !link.contains("://") && !link.starts_with("//"),
                "the page loads {link} from elsewhere"
            );
            let path = format!("/docs/{}", link.trim_start_matches("./"));
            let asset = app.request(Method::GET, &path, None, None).await;
            assert_eq!(asset.status, StatusCode::OK, "{path}");
            assert!(!asset.body.is_empty(), "{path} is empty");
        }
        let initializer = app.request(Method::GET, "/docs/swagger-initializer.js", None, None).await;
        let script = initializer.text();
        assert!(script.contains("\"/api/v1/openapi.json\""), "{script}");
        assert!(!script.contains("://"), "the page calls out: {script}");
        assert!(links.iter().any(|l| l.ends_with("swagger-ui-bundle.js")), "{links:?}");
    }
}

/// `GET path`, saying the client takes `accept_encoding`.
async fn get_encoded(app: &TestApp, path: &str, accept_encoding: Option<&str>) -> Answer {
    let mut request = Request::builder().method(Method::GET).uri(path);
    if let Some(encoding) = accept_encoding {
        request = request.header(header::ACCEPT_ENCODING, encoding);
    }
    app.send(request.body(Body::empty()).expect("request"))
        .await
}

fn header_of(answer: &Answer, name: header::HeaderName) -> &str {
    answer
        .headers
        .get(&name)
        .map_or("", |value| value.to_str().expect("ascii"))
}

http_tests! {
    async fn docs_answers_carry_a_tight_csp_no_framing_and_a_cache_lifetime(app) {
        let redirect = get_encoded(&app, "/docs", None).await;
        assert!(redirect.status.is_redirection(), "{}", redirect.status);
        for (path, cache) in [
            ("/docs/", "no-cache"),
            ("/docs/swagger-initializer.js", "no-cache"),
            ("/docs/swagger-ui-bundle.js", "public, max-age=604800"),
            ("/docs/swagger-ui-standalone-preset.js", "public, max-age=604800"),
            ("/docs/swagger-ui.css", "public, max-age=604800"),
            ("/docs/favicon-32x32.png", "public, max-age=604800"),
        ] {
            let answer = get_encoded(&app, path, None).await;
            assert_eq!(answer.status, StatusCode::OK, "{path}");
            let policy = header_of(&answer, header::CONTENT_SECURITY_POLICY);
            for directive in [
                "default-src 'none'",
                "script-src 'self';",
                "style-src 'self' 'sha256-",
                "img-src 'self' data:",
                "connect-src 'self'",
                "frame-ancestors 'none'",
                "base-uri 'none'",
            ] {
                assert!(policy.contains(directive), "{path}: {directive} not in {policy:?}");
            }
            assert!(!policy.contains("unsafe-"), "{path}: {policy}");
            assert_eq!(header_of(&answer, header::X_FRAME_OPTIONS), "DENY", "{path}");
            assert_eq!(header_of(&answer, header::CACHE_CONTROL), cache, "{path}");
            assert_eq!(header_of(&answer, header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{path}");
        }
        // A miss is no asset to keep, and still the envelope.
        let missing = get_encoded(&app, "/docs/no-such-file.js", None).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(header_of(&missing, header::CACHE_CONTROL), "no-store");
        assert_eq!(missing.json()["error"], true);
        // The API's own answers are not the docs': no docs CSP there.
        let health = get_encoded(&app, "/health/live", Some("gzip")).await;
        assert_eq!(health.status, StatusCode::OK);
        assert!(health.headers.get(header::CONTENT_SECURITY_POLICY).is_none());
    }

    async fn the_swagger_bundle_is_served_gzipped_to_a_client_that_takes_it(app) {
        let raw = get_encoded(&app, "/docs/swagger-ui-bundle.js", None).await;
        assert_eq!(raw.status, StatusCode::OK);
        assert!(raw.headers.get(header::CONTENT_ENCODING).is_none());
        assert!(raw.body.len() > 1_000_000, "the bundle is {} bytes", raw.body.len());
        let gzipped = get_encoded(&app, "/docs/swagger-ui-bundle.js", Some("gzip, deflate, br")).await;
        assert_eq!(gzipped.status, StatusCode::OK);
        assert_eq!(header_of(&gzipped, header::CONTENT_ENCODING), "gzip");
        assert!(header_of(&gzipped, header::VARY).to_ascii_lowercase().contains("accept-encoding"));
        assert_eq!(header_of(&gzipped, header::CACHE_CONTROL), "public, max-age=604800");
        assert!(
            gzipped.body.len() * 3 < raw.body.len(),
            "gzipped {} bytes of {}",
            gzipped.body.len(),
            raw.body.len()
        );
        let mut unzipped = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gzipped.body[..]), &mut unzipped)
            .expect("a gzip stream");
        assert!(unzipped == raw.body, "the gzip stream holds the bundle");
        // The page too, and a client that takes no gzip gets none.
        let page = get_encoded(&app, "/docs/", Some("gzip")).await;
        assert_eq!(header_of(&page, header::CONTENT_ENCODING), "gzip");
        let identity = get_encoded(&app, "/docs/swagger-ui.css", Some("identity")).await;
        assert!(identity.headers.get(header::CONTENT_ENCODING).is_none());
    }
}

/// Whether `schema` (one of the document's, without references) takes
/// `value`.
fn takes(schema: &Value, value: &Value) -> bool {
    jsonschema::validator_for(schema)
        .unwrap_or_else(|e| panic!("{schema} is no schema: {e}"))
        .is_valid(value)
}

/// Every character a test asks the schemas about: all of the Basic
/// Multilingual Plane but the surrogates, and a stride of the planes above.
fn characters() -> impl Iterator<Item = char> {
    (0..=0xFFFF_u32)
        .chain((0x1_0000..=0x10_FFFF).step_by(0x101))
        .filter_map(char::from_u32)
}

/// Asserts that `schema` takes exactly the strings `domain` takes, for
/// each string `strings` makes of each character.
#[track_caller]
fn agrees(
    name: &str,
    schema: &Value,
    domain: impl Fn(&str) -> bool,
    strings: impl Fn(char) -> Vec<String>,
) {
    let validator = jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("{name}: {e}"));
    for c in characters() {
        for text in strings(c) {
            assert_eq!(
                validator.is_valid(&json!(text)),
                domain(&text),
                "{name}: the document and the server disagree on {text:?} (U+{:04X})",
                u32::from(c)
            );
        }
    }
}

http_tests! {
    /// The document states the enums, bounds, patterns and required fields
    /// the server checks, taken from the `domain` constants and parsers
    /// here as well, so neither side can change alone.
    async fn the_document_states_what_the_server_checks(app) {
        use domain::paging::{MAX_LIMIT, MAX_PAGE_DEPTH};
        use domain::values::{BODY_MAX_CHARS, SUBJECT_MAX_CHARS, USERNAME_MAX_CHARS, parse_id};
        use domain::workflow::{TAG_MAX_CHARS, TAGS_PER_TICKET};
        use domain::{Direction, Priority, SortField, Subject, Tag, TicketBody, TicketStatus};

        let document = app.request(Method::GET, "/api/v1/openapi.json", None, None).await.json();
        let schemas = &document["components"]["schemas"];
        let field = |schema: &str, field: &str| schemas[schema]["properties"][field].clone();

        // Required fields: exactly these.
        for (schema, required) in [
            ("LoginRequest", json!(["username", "pin"])),
            ("CreateUserRequest", json!(["username", "pin"])),
            ("UpdateUserRequest", Value::Null),
            ("ChangePinRequest", json!(["currentPin", "newPin"])),
            ("CreateTicketRequest", json!(["body"])),
            ("UpdateTicketRequest", json!(["status"])),
            ("CreateReplyRequest", json!(["body"])),
            ("ChangeTicketRequest", Value::Null),
        ] {
            assert_eq!(schemas[schema]["required"], required, "{schema}");
        }

        // Enums: every listed value parses, and the lists are domain's.
        let listed = |schema: &Value| -> Vec<String> {
            schema["enum"].as_array().unwrap_or_else(|| panic!("no enum in {schema}"))
                .iter().map(|v| v.as_str().expect("text").to_owned()).collect()
        };
        let roles: Vec<String> = Role::ALL.iter().map(|r| r.as_str().to_owned()).collect();
        let statuses: Vec<String> = TicketStatus::ALL.iter().map(|s| s.as_str().to_owned()).collect();
        let priorities: Vec<String> = Priority::ALL.iter().map(|p| p.as_str().to_owned()).collect();
        let sorts: Vec<String> = SortField::ALL.iter().map(|s| s.as_str().to_owned()).collect();
        assert_eq!(listed(&field("CreateUserRequest", "role")), roles);
        assert_eq!(listed(&field("UpdateUserRequest", "role")), roles);
        assert_eq!(listed(&field("ChangeTicketRequest", "priority")), priorities);
        assert_eq!(listed(&field("UpdateTicketRequest", "status")), ["RESOLVED"]);
        let parameter = |path: &str, name: &str| -> Value {
            let parameters = document["paths"][path]["get"]["parameters"].as_array().expect("parameters");
            parameters.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{path} has no {name}"))["schema"].clone()
        };
        assert_eq!(listed(&parameter("/api/v1/tickets", "status")), statuses);
        assert_eq!(listed(&parameter("/api/v1/tickets", "priority")), priorities);
        assert_eq!(listed(&parameter("/api/v1/tickets", "sort")), sorts);
        assert_eq!(listed(&parameter("/api/v1/users", "role")), roles);
        let directions = listed(&parameter("/api/v1/tickets", "direction"));
        for direction in &directions {
            assert!(direction.parse::<Direction>().is_ok(), "{direction}");
        }
        for other in ["ASC", "up", "0", "", "descending"] {
            assert!(other.parse::<Direction>().is_err(), "{other} is a direction the document does not list");
        }
        assert_eq!(directions, ["asc", "desc", "1", "-1"]);

        // Bounds: pages, ids, tags, text.
        for list in ["/api/v1/tickets", "/api/v1/users", "/api/v1/tickets/{ticketId}/replies", "/api/v1/tickets/{ticketId}/events"] {
            let page = parameter(list, "page");
            let limit = parameter(list, "limit");
            assert_eq!((&page["type"], &page["minimum"], &page["maximum"]), (&json!("integer"), &json!(1), &json!(MAX_PAGE_DEPTH)), "{list}");
            assert_eq!((&limit["type"], &limit["minimum"], &limit["maximum"]), (&json!("integer"), &json!(1), &json!(MAX_LIMIT)), "{list}");
        }
        for (path, item) in document["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("operations") {
                for parameter in operation["parameters"].as_array().into_iter().flatten() {
                    if parameter["in"] == "path" && parameter["name"] == "token" {
                        // A PIN reset link's token: base64url of 32 bytes.
                        assert_eq!(parameter["required"], true, "{method} {path}");
                        assert_eq!(parameter["schema"]["pattern"], "^[A-Za-z0-9_-]{43}$", "{method} {path}");
                    } else if parameter["in"] == "path" {
                        assert_eq!(parameter["required"], true, "{method} {path}");
                        assert_eq!(parameter["schema"]["type"], "integer", "{method} {path}");
                        assert_eq!(parameter["schema"]["minimum"], 1, "{method} {path}");
                    }
                }
            }
        }
        let tags = field("ChangeTicketRequest", "tags");
        assert_eq!(tags["maxItems"], TAGS_PER_TICKET);
        assert_eq!(tags["items"]["maxLength"], TAG_MAX_CHARS);
        assert_eq!(field("CreateUserRequest", "username")["maxLength"], USERNAME_MAX_CHARS);
        assert_eq!(field("CreateTicketRequest", "subject")["maxLength"], SUBJECT_MAX_CHARS);
        assert_eq!(field("CreateTicketRequest", "body")["maxLength"], BODY_MAX_CHARS);
        assert_eq!(field("CreateReplyRequest", "body"), field("CreateTicketRequest", "body"));
        let longest = "a".repeat(BODY_MAX_CHARS);
        assert!(takes(&field("CreateReplyRequest", "body"), &json!(longest)));
        assert!(!takes(&field("CreateReplyRequest", "body"), &json!(format!("{longest}a"))));

        // Patterns: the same verdict as the domain's parser, character by
        // character.
        let username = field("CreateUserRequest", "username");
        assert_eq!(field("LoginRequest", "username"), username);
        agrees("username", &username, |t| Username::parse(t).is_ok(), |c| vec![c.to_string(), format!("a{c}b")]);
        let pin = field("CreateUserRequest", "pin");
        for schema in [field("LoginRequest", "pin"), field("UpdateUserRequest", "pin"), field("ChangePinRequest", "currentPin"), field("ChangePinRequest", "newPin")] {
            assert_eq!(schema, pin);
        }
        agrees("pin", &pin, |t| Pin::parse(t).is_ok(), |c| vec![format!("123{c}"), c.to_string().repeat(4)]);
        for digits in 0..14 {
            let text = "1".repeat(digits);
            assert_eq!(takes(&pin, &json!(text)), Pin::parse(text.as_str()).is_ok(), "pin {text:?}");
        }
        let tag = tags["items"].clone();
        let tag_filter = parameter("/api/v1/tickets", "tag");
        assert_eq!((&tag_filter["pattern"], &tag_filter["maxLength"]), (&tag["pattern"], &tag["maxLength"]));
        agrees("tag", &tag, |t| Tag::parse(t).is_ok(), |c| vec![c.to_string(), format!("a{c}"), format!("{c}-")]);
        assert!(takes(&tag, &json!("a".repeat(TAG_MAX_CHARS))) && !takes(&tag, &json!("a".repeat(TAG_MAX_CHARS + 1))));
        let body = field("CreateTicketRequest", "body");
        agrees("body", &body, |t| TicketBody::parse(t).is_ok(), |c| {
            vec![c.to_string(), format!(" {c}"), format!("{c}\u{200B}"), format!("x{c}"), format!("{c}{c}")]
        });
        let subject = field("CreateTicketRequest", "subject");
        agrees("subject", &subject, |t| Subject::parse(t).is_ok(), |c| vec![c.to_string(), format!("a{c}")]);
        assert!(takes(&subject, &Value::Null));
        let id_digits = |t: &str| parse_id("assignee", t).is_ok();
        let assignee = field("ChangeTicketRequest", "assignee");
        let filter = parameter("/api/v1/tickets", "assignee");
        for text in ["0", "1", "01", "00", "10", "007", "-1", "+1", "1.5", "1e3", " 1", "", "abc", "9223372036854775807"] {
            assert_eq!(takes(&assignee, &json!(text)), id_digits(text), "assignee {text:?}");
            assert_eq!(takes(&filter, &json!(text)), id_digits(text), "assignee filter {text:?}");
        }
        for (value, taken) in [(json!(1), true), (json!(0), false), (json!(-3), false), (json!(1.5), false), (Value::Null, true), (json!(true), false)] {
            assert_eq!(takes(&assignee, &value), taken, "assignee {value}");
        }
        for word in ["me", "none"] {
            assert!(takes(&filter, &json!(word)) && word.parse::<domain::ticket_list::AssigneeFilter>().is_ok());
        }
        assert!(!takes(&filter, &json!("ME")) && "ME".parse::<domain::ticket_list::AssigneeFilter>().is_err());
    }
}

http_tests! {
    async fn the_document_states_the_conditional_and_idempotency_headers(app) {
        let document = contract(&app).await.document();
        let operation = |method: &str, path: &str| document["paths"][path][method].clone();
        let takes_header = |operation: &Value, name: &str| {
            operation["parameters"].as_array().is_some_and(|parameters| {
                parameters.iter().any(|p| p["in"] == "header" && p["name"] == name)
            })
        };
        for (method, path) in [
            ("get", "/api/v1/tickets/{ticketId}"),
            ("get", "/api/v1/users/{id}"),
            ("get", "/api/v1/users/me"),
        ] {
            let operation = operation(method, path);
            assert!(takes_header(&operation, "If-None-Match"), "{method} {path}");
            assert!(operation["responses"]["200"]["headers"].get("ETag").is_some(), "{method} {path}");
            assert!(operation["responses"]["304"]["headers"].get("ETag").is_some(), "{method} {path}");
        }
        for (method, path) in [
            ("put", "/api/v1/tickets/{ticketId}"),
            ("patch", "/api/v1/tickets/{ticketId}"),
            ("patch", "/api/v1/users/{id}"),
        ] {
            let operation = operation(method, path);
            assert!(takes_header(&operation, "If-Match"), "{method} {path}");
            assert!(operation["responses"]["200"]["headers"].get("ETag").is_some(), "{method} {path}");
            for status in ["412", "428"] {
                assert!(operation["responses"].get(status).is_some(), "{method} {path} {status}");
            }
        }
        for path in ["/api/v1/tickets", "/api/v1/tickets/{ticketId}/replies", "/api/v1/users"] {
            let operation = operation("post", path);
            let key = operation["parameters"]
                .as_array()
                .and_then(|parameters| parameters.iter().find(|p| p["name"] == "Idempotency-Key"))
                .unwrap_or_else(|| panic!("POST {path} takes no Idempotency-Key"));
            assert_eq!(key["in"], "header");
            assert_eq!(key["schema"]["maxLength"], 255, "{key}");
            for status in ["409", "422"] {
                assert!(operation["responses"].get(status).is_some(), "POST {path} {status}");
            }
            for status in ["201", "400", "409"] {
                let replayable = &operation["responses"][status]["headers"]["Idempotent-Replayed"];
                assert!(replayable.is_object(), "POST {path} {status}");
            }
            assert!(operation["responses"]["401"]["headers"].get("Idempotent-Replayed").is_none(), "a 401 is never kept");
        }
        let conflict = operation("post", "/api/v1/users")["responses"]["409"]["description"].clone();
        assert!(conflict.as_str().is_some_and(|d| d.contains("taken") && d.contains("Idempotency-Key")), "{conflict}");
    }
}
