//! Request bodies: every body is a JSON object, on every route that takes
//! one, and a refused body is answered in our own words (never a Rust type
//! name); `null` is a value only where a field can hold it.

use super::*;

/// Words that would give away the server's insides if an error said them.
const RUST_WORDS: [&str; 12] = [
    "struct", "enum", "tuple", "Option", "String", "Vec<", "i64", "u32", "serde", "sequence",
    "map", "Request",
];

/// Panics if `message` names a Rust type, one of the document's schemas,
/// or serde's vocabulary.
#[track_caller]
fn in_our_words(message: &str, document: &Value) {
    for word in RUST_WORDS {
        assert!(!message.contains(word), "{message:?} says {word:?}");
    }
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("schemas");
    // Whole words: a field such as `publicReply` is not the schema `Reply`.
    let words: Vec<&str> = message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .collect();
    for name in schemas.keys() {
        assert!(!words.contains(&name.as_str()), "{message:?} names {name}");
    }
}

/// Every operation of the served document that takes a body: its method
/// and its path with `{id}` and `{ticketId}` filled in.
fn body_operations(document: &Value, user_id: &str, ticket_id: i64) -> Vec<(Method, String)> {
    let mut operations = Vec::new();
    for (template, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            // A JSON body; inbound mail's is a message (`message/rfc822`).
            if operation["requestBody"]["content"]
                .get("application/json")
                .is_none()
            {
                continue;
            }
            let path = template
                .replace("{id}", user_id)
                .replace("{ticketId}", &ticket_id.to_string())
                .replace("{token}", "a-token");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            operations.push((method, path));
        }
    }
    operations
}

/// Sends `raw` as the JSON body of `method path` with `token`.
async fn send_body(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    raw: &str,
) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    app.send(request.body(Body::from(raw.to_owned())).expect("request"))
        .await
}

http_tests! {
    /// The original's clients sent objects; serde would read an array as
    /// the fields in order, so `["kayode", "0000"]` signed in.
    async fn an_array_is_no_body_on_any_route(app) {
        let customer = app.customer("kayode").await;
        let agent = app.agent().await;
        let id = app.open_ticket(&customer, "The printer is on fire").await;
        let document = app
            .request(Method::GET, "/api/v1/openapi.json", None, None)
            .await
            .json();

        // The findings, one by one.
        let login = send_body(&app, Method::POST, "/api/v1/login", None, r#"["kayode", "0000"]"#)
            .await
            .expect(StatusCode::BAD_REQUEST);
        assert!(login.json().get("token").is_none(), "an array signed in: {}", login.text());
        let triage = send_body(&app, Method::PATCH, &format!("/api/v1/tickets/{id}"), Some(&agent.token), r#"["HIGH"]"#)
            .await
            .expect(StatusCode::BAD_REQUEST);
        let resolve = send_body(&app, Method::PUT, &format!("/api/v1/tickets/{id}"), Some(&customer.token), r#"["RESOLVED"]"#)
            .await
            .expect(StatusCode::BAD_REQUEST);
        let ticket = app
            .get(&format!("/api/v1/tickets/{id}"), &agent)
            .await
            .expect(StatusCode::OK)
            .data();
        assert_eq!(ticket["priority"], "NORMAL", "the array set the priority");
        assert_eq!(ticket["status"], "UNATTENDED", "the array resolved the ticket");
        for answer in [login, triage, resolve] {
            let message = answer.json()["message"].as_str().expect("message").to_owned();
            assert_eq!(message, "the body must be a JSON object", "{message}");
        }
        let sign_up = send_body(&app, Method::POST, "/api/v1/users", None, r#"["newcomer", "1234", "ADMIN"]"#)
            .await
            .expect(StatusCode::BAD_REQUEST);
        in_our_words(sign_up.json()["message"].as_str().expect("message"), &document);
        app.login("newcomer", "1234").await.expect(StatusCode::UNAUTHORIZED);
    }
}

http_tests! {
    async fn every_body_that_is_not_an_object_is_a_400_in_our_words(app) {
        let admin = app.admin().await;
        let customer = app.customer("kayode").await;
        let id = app.open_ticket(&customer, "help").await;
        let document = app
            .request(Method::GET, "/api/v1/openapi.json", None, None)
            .await
            .json();
        let operations = body_operations(&document, &customer.id, id);
        assert_eq!(operations.len(), 15, "every route that takes a body: {operations:?}");
        let not_objects = [
            "[]", r#"["kayode", "0000"]"#, "[{}]", r#""RESOLVED""#, r#""""#, "0", "1234", "-1.5",
            "true", "false", "null",
        ];
        for (method, path) in &operations {
            // A sign-up or a login sends no token; the body is read first anyway.
            let token = (path != "/api/v1/login").then_some(admin.token.as_str());
            for raw in not_objects {
                let answer = send_body(&app, method.clone(), path, token, raw).await;
                let answer = answer.expect(StatusCode::BAD_REQUEST);
                let message = answer.json()["message"].as_str().expect("message").to_owned();
                assert_eq!(message, "the body must be a JSON object", "{method} {path} {raw}");
            }
            // Malformed JSON and fields of the wrong type, in our words too.
            for raw in ["{", "{\"body\": tru}", "[1,", "{\"a\":1}}"] {
                let answer = send_body(&app, method.clone(), path, token, raw)
                    .await
                    .expect(StatusCode::BAD_REQUEST);
                let message = answer.json()["message"].as_str().expect("message").to_owned();
                assert!(message.starts_with("the body is not valid JSON: "), "{method} {path} {raw}: {message}");
                in_our_words(&message, &document);
            }
            let schema = &document["paths"][path_template(&document, path)][method.as_str().to_lowercase()]
                ["requestBody"]["content"]["application/json"]["schema"]["$ref"];
            let name = schema.as_str().expect("a named schema").rsplit('/').next().expect("name");
            let fields = document["components"]["schemas"][name]["properties"]
                .as_object()
                .expect("properties");
            for field in fields.keys() {
                for wrong in [json!({"x": 1}), json!([[1]]), json!(1.5)] {
                    let body = json!({ field.as_str(): wrong }).to_string();
                    let answer = send_body(&app, method.clone(), path, token, &body)
                        .await
                        .expect(StatusCode::BAD_REQUEST);
                    let message = answer.json()["message"].as_str().expect("message").to_owned();
                    assert!(message.starts_with(field.as_str()), "{method} {path} {body}: {message}");
                    in_our_words(&message, &document);
                }
            }
        }
    }
}

/// The documented template `path` was made from.
fn path_template<'a>(document: &'a Value, path: &str) -> &'a str {
    let segments: Vec<&str> = path.split('/').collect();
    document["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .find(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(part, segment)| part.starts_with('{') || part == segment)
        })
        .expect("a documented path")
}

http_tests! {
    /// `null` is a value: a subject may be null (a ticket shows none as
    /// null), an assignee may (it unassigns), no other field may.
    async fn null_is_a_value_only_where_the_document_says_so(app) {
        let admin = app.admin().await;
        let customer = app.customer("kayode").await;
        let opened = app
            .post("/api/v1/tickets", &customer, json!({"subject": null, "body": "help"}))
            .await
            .expect(StatusCode::CREATED)
            .data();
        assert_eq!(opened["subject"], Value::Null);
        let id = opened["ticketId"].as_i64().expect("id");
        let refused = [
            (Method::POST, "/api/v1/users".to_owned(), json!({"username": "newcomer", "pin": "1234", "role": null}), "role"),
            (Method::POST, "/api/v1/users".to_owned(), json!({"username": null, "pin": "1234"}), "username"),
            (Method::PATCH, format!("/api/v1/users/{}", customer.id), json!({"active": null}), "active"),
            (Method::PATCH, format!("/api/v1/users/{}", customer.id), json!({"pin": null}), "pin"),
            (Method::PATCH, format!("/api/v1/users/{}", customer.id), json!({"role": null}), "role"),
            (Method::POST, "/api/v1/tickets".to_owned(), json!({"body": null}), "body"),
            (Method::PUT, format!("/api/v1/tickets/{id}"), json!({"status": null}), "status"),
            (Method::PATCH, format!("/api/v1/tickets/{id}"), json!({"priority": null}), "priority"),
            (Method::PATCH, format!("/api/v1/tickets/{id}"), json!({"tags": null}), "tags"),
            (Method::POST, format!("/api/v1/tickets/{id}/replies"), json!({"body": "x", "internal": null}), "internal"),
            (Method::PUT, "/api/v1/users/me/pin".to_owned(), json!({"currentPin": "0000", "newPin": null}), "newPin"),
        ];
        for (method, path, body, field) in refused {
            let answer = app
                .request(method.clone(), &path, Some(&admin.token), Some(body.clone()))
                .await
                .expect(StatusCode::BAD_REQUEST);
            let message = answer.json()["message"].as_str().expect("message").to_owned();
            assert!(message.starts_with(field) && message.ends_with("not null"), "{method} {path} {body}: {message}");
        }
        app.login("newcomer", "1234").await.expect(StatusCode::UNAUTHORIZED);
        let anonymous = app
            .request(Method::POST, "/api/v1/users", None, Some(json!({"username": "newcomer", "pin": "1234", "role": null})))
            .await
            .expect(StatusCode::BAD_REQUEST);
        assert_eq!(anonymous.json()["message"], "role must be a string, not null");
        // What the document says of each.
        let document = app
            .request(Method::GET, "/api/v1/openapi.json", None, None)
            .await
            .json();
        let schemas = &document["components"]["schemas"];
        assert_eq!(schemas["CreateTicketRequest"]["properties"]["subject"]["type"], json!(["string", "null"]));
        let assignee = &schemas["ChangeTicketRequest"]["properties"]["assignee"]["anyOf"];
        assert!(assignee.as_array().expect("anyOf").contains(&json!({"type": "null"})), "{assignee}");
        for (schema, field) in [
            ("CreateUserRequest", "role"), ("CreateUserRequest", "username"), ("UpdateUserRequest", "active"),
            ("UpdateUserRequest", "pin"), ("CreateTicketRequest", "body"), ("UpdateTicketRequest", "status"),
            ("ChangeTicketRequest", "priority"), ("ChangeTicketRequest", "tags"), ("CreateReplyRequest", "internal"),
            ("ChangePinRequest", "newPin"), ("LoginRequest", "pin"),
        ] {
            let kind = &schemas[schema]["properties"][field]["type"];
            assert!(kind.is_string() && kind != "null", "{schema}.{field} is {kind}");
        }
    }
}
