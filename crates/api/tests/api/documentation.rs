//! The OpenAPI document and the docs page: what they promise, that the
//! response check behind every test can fail, and that `/docs` needs no
//! internet.

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
        for component in ["User", "Ticket", "Reply", "ErrorEnvelope", "Envelope_Ticket", "PageEnvelope_Ticket"] {
            assert!(document["components"]["schemas"].get(component).is_some(), "{component} missing");
        }
        assert_eq!(document["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        let expected = [
            ("post", "/api/v1/login"),
            ("post", "/api/v1/users"),
            ("get", "/api/v1/users"),
            ("get", "/api/v1/users/me"),
            ("put", "/api/v1/users/me/pin"),
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
                let secured = operation["security"]
                    .as_array()
                    .is_some_and(|schemes| schemes.iter().any(|s| s.get("bearer").is_some()));
                if secured {
                    assert!(statuses.contains_key("401"), "{method} {path} takes a token but lists no 401");
                }
                if path.starts_with("/api/v1/") && path != "/api/v1/openapi.json" {
                    for status in ["500", "503"] {
                        assert!(statuses.contains_key(status), "{method} {path} lists no {status}");
                    }
                    if path != "/api/v1/login" {
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
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
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
        assert!(!refuses(contract, Method::GET, "/api/v1/users/me", StatusCode::UNAUTHORIZED, with_id));
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
