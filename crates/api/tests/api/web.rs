//! The web pages at `/`, in process over the real router: every page and
//! form as a browser without JavaScript uses them (303s, cookies, form
//! posts), the refusals shown as pages, escaping, CSRF, sessions, headers
//! and assets.

use domain::{ListTickets, ListUsers, PageRequest, ReplyBody, ReplyKind, TicketBody, TicketId};
use edge::limits::LimitSettings as Budgets;
use store::NewTicket;

use super::*;

mod held;

/// The session cookie's name.
const COOKIE: &str = "tracker_session";
/// The known-device cookie's name (the API's, set by a sign-in too).
const DEVICE_COOKIE: &str = "tracker_device";
/// What Chromium sends with a form posted from one of our own pages.
const SAME_ORIGIN: &[(&str, &str)] = &[("sec-fetch-site", "same-origin")];
/// The message of a form refused as cross-site or without its token.
const CROSS_SITE: &str = "sent from another site, so nothing was changed";

/// An answer as a browser sees it, body read whole.
#[derive(Debug)]
struct WebPage {
    status: StatusCode,
    headers: HeaderMap,
    html: String,
}

impl WebPage {
    #[track_caller]
    fn expect(self, status: StatusCode) -> Self {
        assert_eq!(self.status, status, "page: {}", self.html);
        self
    }

    /// Asserts a 303 to `location`.
    #[track_caller]
    fn redirects_to(&self, location: &str) {
        assert_eq!(
            (self.status, self.location()),
            (StatusCode::SEE_OTHER, location),
            "page: {}",
            self.html
        );
    }

    /// Asserts a readable HTML page at `status` saying `message` (in any
    /// case: a form shown again says it as a sentence, an error page as
    /// the rules word it).
    #[track_caller]
    fn shows(&self, status: StatusCode, message: &str) {
        assert_eq!(self.status, status, "page: {}", self.html);
        assert!(
            self.header("content-type").starts_with("text/html"),
            "{:?}",
            self.headers
        );
        assert!(
            self.html.to_lowercase().contains(&message.to_lowercase()),
            "{message:?} not in page: {}",
            self.html
        );
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |value| {
            std::str::from_utf8(value.as_bytes()).expect("a UTF-8 header")
        })
    }

    fn location(&self) -> &str {
        self.header("location")
    }

    fn has(&self, text: &str) -> bool {
        self.html.contains(text)
    }

    /// The cookie `name` this answer sets, if it sets it.
    fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|cookie| cookie.starts_with(&format!("{name}=")))
    }

    /// The session cookie this answer sets, if it sets one.
    fn session_cookie(&self) -> Option<&str> {
        self.set_cookie(COOKIE)
    }

    /// The value of the cookie `name` this answer sets.
    fn cookie_value(&self, name: &str) -> Option<String> {
        self.set_cookie(name).map(|cookie| {
            cookie
                .split(';')
                .next()
                .and_then(|pair| pair.strip_prefix(&format!("{name}=")))
                .unwrap_or_default()
                .to_owned()
        })
    }

    /// The CSRF token the page's forms carry.
    fn csrf(&self) -> Option<String> {
        attribute_of(&self.html, r#"name="_csrf""#, "value")
    }

    /// The ids of the ticket rows listed, in order.
    fn ticket_rows(&self) -> Vec<i64> {
        self.row_ids("ticket")
    }

    /// The ids of the rows listed whose element ids are `{kind}-{id}`, in
    /// order.
    fn row_ids(&self, kind: &str) -> Vec<i64> {
        self.html
            .split(&format!(r#"<li class="ticket" id="{kind}-"#))
            .skip(1)
            .map(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().expect("a row's id")
            })
            .collect()
    }
}

/// The `name` attribute of the first tag holding `marker`, unescaped.
fn attribute_of(html: &str, marker: &str, name: &str) -> Option<String> {
    let at = html.find(marker)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let prefix = format!(r#"{name}=""#);
    let value_at = tag.find(&prefix)? + prefix.len();
    let value = &tag[value_at..];
    Some(unescape(&value[..value.find('"')?]))
}

/// Undoes HTML escaping (askama's numeric entities, or named ones).
fn unescape(text: &str) -> String {
    [
        ("&#34;", "\""),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&#60;", "<"),
        ("&lt;", "<"),
        ("&#62;", ">"),
        ("&gt;", ">"),
        ("&#38;", "&"),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(text.to_owned(), |text, (entity, plain)| {
        text.replace(entity, plain)
    })
}

/// `application/x-www-form-urlencoded` escaping of one value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (byte as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// `application/x-www-form-urlencoded` of `fields`.
fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A form's fields, name and value.
type Fields<'a> = Vec<(&'a str, &'a str)>;
/// Request headers, name and value.
type Headers<'a> = &'a [(&'a str, &'a str)];

/// `fields` with the CSRF field `token`.
fn with_token<'a>(fields: &[(&'a str, &'a str)], token: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut fields = fields.to_vec();
    fields.push(("_csrf", token));
    fields
}

/// The ticket id a `/tickets/{id}?done=...` redirect names.
fn ticket_in(location: &str) -> i64 {
    location
        .strip_prefix("/tickets/")
        .and_then(|rest| rest.split('?').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no ticket in {location:?}"))
}

/// A browser: its session cookie, its forms' token, and the known-device
/// cookie a sign-in leaves.
struct Browser<'a> {
    app: &'a TestApp,
    cookie: Option<String>,
    csrf: String,
    device: Option<String>,
}

impl<'a> Browser<'a> {
    fn signed_out(app: &'a TestApp) -> Self {
        Self {
            app,
            cookie: None,
            csrf: String::new(),
            device: None,
        }
    }

    /// A browser signed in as `username` (an account that exists, with
    /// the tests' PIN).
    async fn signed_in(app: &'a TestApp, username: &str) -> Self {
        let mut browser = Self::signed_out(app);
        browser
            .sign_in(username, PIN, None)
            .await
            .redirects_to("/tickets");
        browser
    }

    /// A browser carrying this cookie value, as a copy of it would.
    fn with_cookie(app: &'a TestApp, cookie: &str) -> Self {
        Self {
            app,
            cookie: Some(cookie.to_owned()),
            csrf: String::new(),
            device: None,
        }
    }

    fn cookie(&self) -> &str {
        self.cookie.as_deref().expect("signed in")
    }

    async fn send(&self, request: axum::http::request::Builder, body: Body) -> WebPage {
        let mut cookies = Vec::new();
        cookies.extend(self.cookie.iter().map(|value| format!("{COOKIE}={value}")));
        cookies.extend(
            self.device
                .iter()
                .map(|value| format!("{DEVICE_COOKIE}={value}")),
        );
        let request = match cookies.is_empty() {
            true => request,
            false => request.header(header::COOKIE, cookies.join("; ")),
        };
        let response = self
            .app
            .router()
            .clone()
            .oneshot(request.body(body).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        WebPage {
            status,
            headers,
            html: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, path: &str) -> WebPage {
        self.send(
            Request::builder().method(Method::GET).uri(path),
            Body::empty(),
        )
        .await
    }

    /// Posts `fields` as they are (no token added) with `headers`.
    async fn post(&self, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> WebPage {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request, Body::from(form(fields))).await
    }

    /// Submits one of our forms: its fields, the session's token, from
    /// our own page.
    async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> WebPage {
        let mut with_token = fields.to_vec();
        let csrf = self.csrf.clone();
        with_token.push(("_csrf", &csrf));
        let page = self.post(path, &with_token, SAME_ORIGIN).await;
        self.keep_cookie(&page).await;
        page
    }

    async fn sign_in(&mut self, username: &str, pin: &str, next: Option<&str>) -> WebPage {
        let mut fields = vec![("username", username), ("pin", pin)];
        fields.extend(next.map(|next| ("next", next)));
        let page = self.post("/login", &fields, SAME_ORIGIN).await;
        self.keep_cookie(&page).await;
        page
    }

    async fn sign_up(&mut self, username: &str, pin: &str) -> WebPage {
        let page = self
            .post(
                "/signup",
                &[("username", username), ("pin", pin)],
                SAME_ORIGIN,
            )
            .await;
        self.keep_cookie(&page).await;
        page
    }

    /// Keeps the session cookie an answer sets (and reads its forms'
    /// token), or forgets it when the answer clears it.
    async fn keep_cookie(&mut self, page: &WebPage) {
        if let Some(device) = page.cookie_value(DEVICE_COOKIE) {
            self.device = Some(device);
        }
        match page.cookie_value(COOKIE) {
            Some(value) if value.is_empty() => self.cookie = None,
            Some(value) => {
                self.cookie = Some(value);
                let tickets = self.get("/tickets").await.expect(StatusCode::OK);
                self.csrf = tickets.csrf().expect("a signed-in page carries a token");
            }
            None => {}
        }
    }
}

/// A user of `role` loaded into the store, signed in over the API (for its
/// id and token) and in a browser.
async fn user<'a>(app: &'a TestApp, username: &str, role: Role) -> (Session, Browser<'a>) {
    let session = app.user(username, role).await;
    (session, Browser::signed_in(app, username).await)
}

/// Opens a ticket through the new-ticket form; its id.
async fn open_ticket(browser: &mut Browser<'_>, subject: &str, body: &str) -> i64 {
    let page = browser
        .submit("/tickets", &[("subject", subject), ("body", body)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    assert!(page.location().ends_with("?done=created"), "{page:?}");
    ticket_in(page.location())
}

/// The same database behind a server reached at `public_url`, with these
/// budgets.
fn configured(app: TestApp, public_url: Option<&str>, budgets: Budgets) -> TestApp {
    let state = shared_state(app.db.store().clone(), &budgets, public_url);
    app.with_router(api::router(state))
}

/// Loads an account straight into the store (no login spent).
async fn load(app: &TestApp, username: &str, role: Role) -> Actor {
    let username = Username::parse(username).expect("valid username");
    let user = app
        .with_store(move |store| {
            store
                .bulk_ensure_user(&username, &Pin::parse(PIN).expect("valid pin"), role)
                .expect("load user")
        })
        .await;
    Actor::for_tests(user.id, role)
}

/// The tickets, replies and accounts as the store has them, for telling
/// whether anything changed.
async fn world(app: &TestApp, admin: Actor, ticket_id: TicketId) -> String {
    app.with_store(move |store| {
        let ticket = store.read_ticket(admin, ticket_id).expect("ticket");
        let all = PageRequest::new(1, 100).expect("valid");
        let replies = store
            .list_replies(admin, ticket_id, all)
            .expect("replies")
            .items;
        let tickets = store
            .list_tickets(
                admin,
                &ListTickets {
                    page: PageRequest::default().counting(),
                    ..ListTickets::default()
                },
            )
            .expect("tickets")
            .total;
        let users = store
            .list_users(
                admin,
                &ListUsers {
                    page: all,
                    role: None,
                },
            )
            .expect("users")
            .items;
        format!("{ticket:?}\n{replies:?}\n{tickets:?}\n{users:?}")
    })
    .await
}

/// The account `id` as the store has it now.
async fn account(app: &TestApp, admin: Actor, id: &str) -> domain::User {
    let id = UserId(id.parse().expect("numeric id"));
    app.with_store(move |store| store.read_user(admin, id).expect("account"))
        .await
}

http_tests! {
    async fn signed_out_visits_go_to_sign_in_and_back_to_the_page(app) {
        let customer = app.customer("kayode").await;
        let ticket = app.open_ticket(&customer, "my printer is on fire").await;
        let visitor = Browser::signed_out(&app);
        visitor.get("/").await.redirects_to("/login");
        let ticket_page = format!("/tickets/{ticket}");
        for (path, next) in [
            ("/tickets", "/tickets"),
            (ticket_page.as_str(), ticket_page.as_str()),
            ("/tickets/new", "/tickets/new"),
            ("/admin/users", "/admin/users"),
            ("/report.csv", "/report.csv"),
            ("/tickets?status=REPLIED", "/tickets%3Fstatus%3DREPLIED"),
        ] {
            visitor
                .get(path)
                .await
                .redirects_to(&format!("/login?next={next}"));
        }
        // A cookie that is not one of ours, or names no session, is none.
        for cookie in ["junk", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
            Browser::with_cookie(&app, cookie)
                .get(&ticket_page)
                .await
                .redirects_to(&format!("/login?next={ticket_page}"));
        }
        // The sign-in page carries `next` in its form...
        let sign_in = visitor
            .get(&format!("/login?next={ticket_page}"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(
            attribute_of(&sign_in.html, r#"name="next""#, "value").as_deref(),
            Some(ticket_page.as_str())
        );
        // ...and signing in goes back there.
        let mut browser = Browser::signed_out(&app);
        browser
            .sign_in("kayode", PIN, Some(&ticket_page))
            .await
            .redirects_to(&ticket_page);
        let page = browser.get(&ticket_page).await;
        page.shows(StatusCode::OK, "my printer is on fire");
        browser.get("/").await.redirects_to("/tickets");
        browser
            .sign_in("kayode", PIN, Some("/tickets?status=REPLIED&q=a"))
            .await
            .redirects_to("/tickets?status=REPLIED&q=a");
    }

    async fn a_sign_in_never_sends_the_browser_to_another_site(app) {
        app.customer("kayode").await;
        for away in [
            "//evil.example",
            "https://evil.example/tickets",
            "/\\evil.example",
            "evil.example",
            "",
        ] {
            let page = Browser::signed_out(&app)
                .get(&format!("/login?next={}", encode(away)))
                .await
                .expect(StatusCode::OK);
            assert_eq!(
                attribute_of(&page.html, r#"name="next""#, "value").as_deref(),
                Some("/"),
                "{away}"
            );
            let mut browser = Browser::signed_out(&app);
            browser
                .sign_in("kayode", PIN, Some(away))
                .await
                .redirects_to("/tickets");
            assert!(browser.cookie.is_some(), "{away}: signed in all the same");
        }
    }

    async fn signing_up_makes_a_customer_and_signs_them_in(app) {
        let mut browser = Browser::signed_out(&app);
        let form_page = browser.get("/signup").await;
        form_page.shows(StatusCode::OK, "Create your account");
        assert!(form_page.has(r#"action="/signup""#), "{}", form_page.html);
        let page = browser.sign_up("newbie", "482193").await;
        page.redirects_to("/tickets/new");
        let cookie = page.session_cookie().expect("a session cookie").to_owned();
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=3600"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        assert!(!cookie.contains("Secure"), "plain http here: {cookie}");
        let new_ticket = browser.get("/tickets/new").await;
        new_ticket.shows(StatusCode::OK, "New ticket");
        assert!(new_ticket.has("newbie"), "greeted by name");
        assert!(new_ticket.has("<small>Customer</small>"), "{}", new_ticket.html);
        let logged_in = app.login("newbie", "482193").await.expect(StatusCode::OK);
        assert_eq!(logged_in.data()["role"], "CUSTOMER");
    }

    async fn a_refused_sign_up_keeps_the_username_and_makes_nothing(app) {
        app.customer("kayode").await;
        let mut browser = Browser::signed_out(&app);
        let taken = browser.sign_up("kayode", "4821").await;
        taken.shows(StatusCode::CONFLICT, "The username is taken.");
        assert!(taken.has(r#"value="kayode""#), "{}", taken.html);
        assert!(taken.session_cookie().is_none());
        assert!(!taken.has("4821"), "the PIN is never shown back");
        let short_pin = browser.sign_up("newbie", "12").await;
        short_pin.shows(StatusCode::BAD_REQUEST, "Pin must be");
        assert!(short_pin.has(r#"value="newbie""#), "{}", short_pin.html);
        assert!(short_pin.session_cookie().is_none());
        let bad_name = browser.sign_up("new bie", "4821").await;
        bad_name.shows(StatusCode::BAD_REQUEST, "Username must be");
        assert!(browser.cookie.is_none());
        // The refused attempts made no account: the name is still free.
        browser.sign_up("newbie", "4821").await.redirects_to("/tickets/new");
    }

    async fn a_wrong_pin_is_one_message_that_keeps_the_username_but_not_the_pin(app) {
        app.customer("kayode").await;
        let mut browser = Browser::signed_out(&app);
        let wrong = browser.sign_in("kayode", "987654", Some("/tickets/new")).await;
        wrong.shows(StatusCode::UNAUTHORIZED, "Invalid username or pin.");
        assert!(wrong.has(r#"value="kayode""#), "{}", wrong.html);
        assert!(!wrong.has("987654"), "the PIN is never shown back");
        assert_eq!(
            attribute_of(&wrong.html, r#"name="next""#, "value").as_deref(),
            Some("/tickets/new"),
            "still going back there after the right PIN"
        );
        assert!(wrong.session_cookie().is_none());
        let unknown = browser.sign_in("nobody", "987654", None).await;
        unknown.shows(StatusCode::UNAUTHORIZED, "Invalid username or pin.");
        assert!(browser.cookie.is_none());
        browser
            .sign_in("kayode", PIN, Some("/tickets/new"))
            .await
            .redirects_to("/tickets/new");
    }

    async fn a_customer_sees_an_empty_state_then_only_their_own_tickets(app) {
        let (_, mut kayode) = user(&app, "kayode", Role::Customer).await;
        let (_, mut tolu) = user(&app, "tolu", Role::Customer).await;
        let empty = kayode.get("/tickets").await;
        empty.shows(StatusCode::OK, "You have no tickets yet");
        assert!(empty.has("<h1>My tickets"), "{}", empty.html);
        assert!(!empty.has(r#"id="filters""#), "no staff filters for a customer");
        assert!(empty.has(r#"href="/tickets/new""#));
        let mine = open_ticket(&mut kayode, "Invoice is wrong", "charged twice").await;
        let theirs = open_ticket(&mut tolu, "Login loop", "cannot sign in").await;
        let list = kayode.get("/tickets").await.expect(StatusCode::OK);
        assert_eq!(list.ticket_rows(), vec![mine]);
        assert!(list.has("Invoice is wrong"));
        assert!(list.has("Waiting for an agent"));
        assert!(!list.has("Login loop"), "another customer's ticket");
        assert!(!list.has("You have no tickets yet"));
        assert_eq!(
            tolu.get("/tickets").await.ticket_rows(),
            vec![theirs]
        );
        // A ticket without a subject is listed by the start of its body.
        let untitled = open_ticket(&mut kayode, "", "the app crashes on start").await;
        let list = kayode.get("/tickets").await;
        assert_eq!(list.ticket_rows(), vec![untitled, mine], "latest change first");
        assert!(list.has("the app crashes on start"));
    }

    async fn opening_a_ticket_leads_to_its_page_and_a_refused_one_keeps_what_was_typed(app) {
        let (customer, mut browser) = user(&app, "kayode", Role::Customer).await;
        let new_form = browser.get("/tickets/new").await;
        new_form.shows(StatusCode::OK, "What do you need help with?");
        assert_eq!(new_form.csrf().as_deref(), Some(browser.csrf.as_str()));
        let page = browser
            .submit("/tickets", &[("subject", "Printer jammed"), ("body", "paper everywhere")])
            .await;
        let id = ticket_in(page.location());
        page.redirects_to(&format!("/tickets/{id}?done=created"));
        let shown = browser.get(page.location()).await;
        shown.shows(StatusCode::OK, "Your ticket is open.");
        assert!(shown.has("Printer jammed") && shown.has("paper everywhere"));
        let ticket = app
            .with_store(move |store| store.read_ticket(customer.actor(), TicketId(id)).expect("ticket"))
            .await;
        assert_eq!(ticket.subject.as_deref(), Some("Printer jammed"));
        assert_eq!(ticket.body, "paper everywhere");
        // A blank body is refused, and the form keeps the subject.
        let refused = browser
            .submit("/tickets", &[("subject", "Scanner too"), ("body", "   ")])
            .await;
        refused.shows(StatusCode::BAD_REQUEST, "Body must not be blank.");
        assert!(refused.has(r#"value="Scanner too""#), "{}", refused.html);
        assert!(refused.has(r#"id="new-ticket-form""#));
        let too_long = "x".repeat(201);
        let refused = browser
            .submit("/tickets", &[("subject", &too_long), ("body", "kept body")])
            .await;
        refused.shows(StatusCode::BAD_REQUEST, "Subject must be at most 200 characters.");
        assert!(refused.has(">kept body</textarea>"), "{}", refused.html);
        assert_eq!(
            browser.get("/tickets").await.ticket_rows(),
            vec![id],
            "the refused forms opened nothing"
        );
        // Staff do not open tickets: the form says so at 403.
        let (_, mut agent) = user(&app, "benjamin", Role::SupportAgent).await;
        let refused = agent
            .submit("/tickets", &[("subject", "Mine"), ("body", "an agent's ticket")])
            .await;
        refused.shows(StatusCode::FORBIDDEN, "Only customers can create tickets.");
        assert!(refused.has(r#"value="Mine""#));
    }

    async fn a_customer_cannot_reply_before_an_agent_and_never_sees_a_note(app) {
        let (customer, mut browser) = user(&app, "kayode", Role::Customer).await;
        let (agent, mut staff) = user(&app, "benjamin", Role::SupportAgent).await;
        let id = open_ticket(&mut browser, "Refund", "please refund order 7").await;
        let path = format!("/tickets/{id}");
        let page = browser.get(&path).await.expect(StatusCode::OK);
        assert!(
            page.has(r#"<textarea id="reply-body" name="body" rows="5" disabled"#),
            "{}",
            page.html
        );
        assert!(page.has(
            "You cannot reply now: a customer can reply only after a support agent has replied."
        ));
        assert!(page.has(r#"id="resolve""#), "the customer may resolve it");
        assert!(page.has(r#"<dd id="priority">NORMAL</dd>"#), "{}", page.html);
        for staff_only in [r#"id="note""#, r#"id="triage""#] {
            assert!(!page.has(staff_only), "{staff_only} shown to a customer");
        }
        // The due times are everyone's, as in the API.
        assert!(page.has(r#"id="sla""#), "{}", page.html);
        assert!(page.has(r#"<dd id="assignee">Nobody yet</dd>"#), "{}", page.html);
        // Posting anyway is refused at 409 and keeps what was typed.
        let refused = browser
            .submit(
                &format!("{path}/replies"),
                &[("kind", "public"), ("body", "any news on my refund?")],
            )
            .await;
        refused.shows(
            StatusCode::CONFLICT,
            "A customer can reply only after a support agent has replied.",
        );
        assert!(refused.has("any news on my refund?"), "{}", refused.html);
        // A note from staff never reaches the customer's page.
        staff
            .submit(
                &format!("{path}/replies"),
                &[("kind", "internal"), ("body", "customer is a known fraudster")],
            )
            .await
            .redirects_to(&format!("{path}?done=noted"));
        staff
            .submit(
                &format!("{path}/replies"),
                &[("kind", "public"), ("body", "Refund issued today.")],
            )
            .await
            .redirects_to(&format!("{path}?done=replied"));
        let page = browser.get(&path).await.expect(StatusCode::OK);
        assert!(page.has("Refund issued today."));
        assert!(!page.has("known fraudster"), "{}", page.html);
        assert!(!page.has("Internal note"), "{}", page.html);
        assert!(!page.has("benjamin"), "a customer sees staff by role");
        assert!(page.has("<strong>Support</strong>"), "{}", page.html);
        assert!(page.has("Answered"));
        assert!(!page.has("You cannot reply now"));
        assert!(page.has(r#"<textarea id="reply-body" name="body" rows="5" required>"#));
        browser
            .submit(
                &format!("{path}/replies"),
                &[("kind", "public"), ("body", "Thank you!")],
            )
            .await
            .redirects_to(&format!("{path}?done=replied"));
        let replies = app
            .with_store(move |store| {
                let all = PageRequest::new(1, 100).expect("valid");
                let seen = store.list_replies(customer.actor(), TicketId(id), all).expect("replies").items;
                let all_of_them = store.list_replies(agent.actor(), TicketId(id), all).expect("replies").items;
                (seen.len(), all_of_them.len())
            })
            .await;
        assert_eq!(replies, (2, 3), "the refused reply was not kept");
        // A customer's internal note is refused.
        browser
            .submit(
                &format!("{path}/replies"),
                &[("kind", "internal"), ("body", "psst")],
            )
            .await
            .shows(
                StatusCode::FORBIDDEN,
                "Only support agents and admins write internal notes.",
            );
    }

    async fn an_agent_works_a_ticket_with_notes_replies_triage_sla_and_history(app) {
        let (_, mut customer) = user(&app, "kayode", Role::Customer).await;
        let (agent, mut staff) = user(&app, "benjamin", Role::SupportAgent).await;
        let admin = app.user("iambenkay", Role::Admin).await;
        let id = open_ticket(&mut customer, "Refund", "please refund order 7").await;
        let path = format!("/tickets/{id}");
        let page = staff.get(&path).await.expect(StatusCode::OK);
        for shown in [
            r#"id="note""#,
            r#"id="reply""#,
            r#"id="triage""#,
            r#"id="sla""#,
            "First response due",
            "not yet",
            "Opened by kayode",
            "opened the ticket",
            r#"<option value="HIGH">HIGH</option>"#,
            ">benjamin</option>",
            ">iambenkay</option>",
        ] {
            assert!(page.has(shown), "{shown} not on the agent's page: {}", page.html);
        }
        assert!(!page.has("You cannot reply now"), "an agent may reply");
        assert!(!page.has(r#"id="resolve""#), "only the customer resolves");
        staff
            .submit(&format!("{path}/replies"), &[("kind", "internal"), ("body", "check the ledger")])
            .await
            .redirects_to(&format!("{path}?done=noted"));
        let page = staff.get(&format!("{path}?done=noted")).await;
        page.shows(StatusCode::OK, "Internal note added.");
        assert!(page.has(r#"class="message note mine""#), "{}", page.html);
        assert!(page.has("check the ledger"));
        assert!(page.has("added an internal note"));
        staff
            .submit(&format!("{path}/replies"), &[("kind", "public"), ("body", "On it.")])
            .await
            .redirects_to(&format!("{path}?done=replied"));
        let agent_id = agent.id.clone();
        staff
            .submit(
                &format!("{path}/triage"),
                &[("priority", "HIGH"), ("assignee", &agent_id), ("tags", "billing, vip")],
            )
            .await
            .redirects_to(&format!("{path}?done=saved"));
        let page = staff.get(&format!("{path}?done=saved")).await;
        page.shows(StatusCode::OK, "Changes saved.");
        for shown in [
            r#"<option value="HIGH" selected>"#,
            &format!(r#"<option value="{agent_id}" selected>benjamin</option>"#),
            r#"value="billing vip""#,
            "changed the priority from NORMAL to HIGH",
            "tagged it billing, vip",
            "Answered",
            "On it.",
        ] {
            assert!(page.has(shown), "{shown} not on the page: {}", page.html);
        }
        assert!(!page.has("not yet"), "the first response is recorded");
        let ticket = app
            .with_store(move |store| store.read_ticket(agent.actor(), TicketId(id)).expect("ticket"))
            .await;
        assert_eq!(ticket.priority, domain::Priority::High);
        assert_eq!(ticket.assignee.map(|id| id.0.to_string()), Some(agent_id));
        // Unassigning is the empty choice.
        staff
            .submit(&format!("{path}/triage"), &[("priority", "HIGH"), ("assignee", ""), ("tags", "billing vip")])
            .await
            .redirects_to(&format!("{path}?done=saved"));
        let page = staff.get(&path).await;
        assert!(page.has("unassigned it (was you)"), "{}", page.html);
        // Assigned to another member of staff, by name.
        staff
            .submit(&format!("{path}/triage"), &[("assignee", &admin.id)])
            .await
            .redirects_to(&format!("{path}?done=saved"));
        let page = staff.get(&path).await;
        assert!(page.has("assigned it to iambenkay (was nobody)"), "{}", page.html);
        let listed = staff.get("/tickets").await;
        assert!(listed.has(r#"<span class="assignee">iambenkay</span>"#), "{}", listed.html);
    }

    async fn a_customer_sees_the_same_ticket_through_the_api_and_the_pages(app) {
        let (customer, mut browser) = user(&app, "kayode", Role::Customer).await;
        let (agent, mut staff) = user(&app, "benjamin", Role::SupportAgent).await;
        let id = open_ticket(&mut browser, "Refund", "please refund order 7").await;
        let path = format!("/tickets/{id}");
        let agent_id = agent.id.clone();
        staff
            .submit(
                &format!("{path}/triage"),
                &[("priority", "HIGH"), ("assignee", &agent_id), ("tags", "vip")],
            )
            .await
            .redirects_to(&format!("{path}?done=saved"));
        staff
            .submit(&format!("{path}/replies"), &[("kind", "internal"), ("body", "secret-note-text")])
            .await
            .redirects_to(&format!("{path}?done=noted"));
        staff
            .submit(&format!("{path}/replies"), &[("kind", "public"), ("body", "public-answer")])
            .await
            .redirects_to(&format!("{path}?done=replied"));

        for (session, viewer, staff_view) in [(&customer, &browser, false), (&agent, &staff, true)] {
            // The API's answer.
            let ticket = app.get(&format!("/api/v1/tickets/{id}"), session).await.expect(StatusCode::OK).data();
            let replies = app.get(&format!("/api/v1/tickets/{id}/replies"), session).await.expect(StatusCode::OK).data();
            let events = app.get(&format!("/api/v1/tickets/{id}/events"), session).await.expect(StatusCode::OK).data();
            let replies = replies.as_array().expect("replies");
            let events: Vec<&str> = events
                .as_array()
                .expect("events")
                .iter()
                .map(|event| event["type"].as_str().expect("a type"))
                .collect();
            // The page's.
            let page = viewer.get(&path).await.expect(StatusCode::OK);
            let history = page
                .html
                .split(r#"<ol class="history" id="history">"#)
                .nth(1)
                .and_then(|rest| rest.split("</ol>").next())
                .expect("the history");
            let thread = page.html.matches(r#"<article class="message"#).count();

            // Both show the ticket's assignment, priority and due times...
            assert_eq!(ticket["assignee"], json!(agent_id), "{ticket}");
            assert_eq!(ticket["priority"], "HIGH");
            let due = |field: &str| {
                let at = chrono::DateTime::parse_from_rfc3339(ticket[field].as_str().expect(field))
                    .expect("a timestamp");
                at.format("%Y-%m-%d %H:%M UTC").to_string()
            };
            assert!(page.has(r#"id="sla""#), "the due times: {}", page.html);
            assert!(page.has(&due("firstResponseDueAt")) && page.has(&due("resolutionDueAt")), "{}", page.html);
            assert_eq!(page.has("SLA breached") || page.has(">Breached<"), ticket["slaBreached"] == json!(true));
            // ...the same replies and the same history...
            assert_eq!(thread, replies.len() + 1, "the ticket and its replies: {}", page.html);
            assert_eq!(history.matches("<li>").count(), events.len(), "{events:?}: {history}");
            assert!(page.has("public-answer"));
            // ...and only staff see notes, tags, assignments and names.
            assert_eq!(page.has("secret-note-text"), staff_view);
            assert_eq!(replies.iter().any(|reply| reply["internal"] == json!(true)), staff_view);
            assert_eq!(ticket.get("tags").is_some(), staff_view, "{ticket}");
            assert_eq!(page.has(r#"value="vip""#), staff_view);
            assert_eq!(events.contains(&"assigned"), staff_view, "{events:?}");
            assert_eq!(history.contains("assigned it to"), staff_view, "{history}");
            assert_eq!(events.contains(&"tags_changed"), staff_view, "{events:?}");
            assert_eq!(history.contains("tagged it"), staff_view, "{history}");
            match staff_view {
                true => assert!(page.has(&format!(r#"<option value="{agent_id}" selected>benjamin</option>"#)), "{}", page.html),
                false => {
                    assert!(page.has(r#"<dd id="assignee">Support</dd>"#), "{}", page.html);
                    assert!(!page.has("benjamin"), "a customer sees no staff name: {}", page.html);
                }
            }
        }
        // A customer's list says the same of the ticket as its page.
        let listed = browser.get("/tickets").await.expect(StatusCode::OK);
        assert!(listed.has(r#"<span class="assignee">Support</span>"#), "{}", listed.html);
        assert!(listed.has(r#"<span class="priority priority-HIGH">HIGH</span>"#), "{}", listed.html);
    }

    async fn refused_changes_show_their_message_at_their_status(app) {
        let (_, mut customer) = user(&app, "kayode", Role::Customer).await;
        let (_, mut agent) = user(&app, "benjamin", Role::SupportAgent).await;
        let (_, mut admin) = user(&app, "iambenkay", Role::Admin).await;
        let (_, mut stranger) = user(&app, "tolu", Role::Customer).await;
        let id = open_ticket(&mut customer, "Refund", "please refund order 7").await;
        let path = format!("/tickets/{id}");
        let triage = [("priority", "URGENT"), ("assignee", ""), ("tags", "")];
        customer
            .submit(&format!("{path}/triage"), &triage)
            .await
            .shows(
                StatusCode::FORBIDDEN,
                "Only support agents and admins change a ticket&#39;s priority",
            );
        let refused = admin
            .submit(&format!("{path}/replies"), &[("kind", "public"), ("body", "admin here")])
            .await;
        refused.shows(StatusCode::FORBIDDEN, "Admins do not reply to tickets.");
        assert!(refused.has(">admin here</textarea>"), "the typed reply is kept");
        admin
            .submit(&format!("{path}/replies"), &[("kind", "internal"), ("body", "admin note")])
            .await
            .redirects_to(&format!("{path}?done=noted"));
        agent
            .submit(&format!("{path}/resolve"), &[])
            .await
            .shows(StatusCode::FORBIDDEN, "Only the ticket&#39;s customer can resolve it.");
        agent
            .submit(&format!("{path}/triage"), &[("priority", "SOON")])
            .await
            .shows(StatusCode::BAD_REQUEST, "Priority must be");
        agent
            .submit(&format!("{path}/triage"), &[("assignee", "someone")])
            .await
            .shows(StatusCode::BAD_REQUEST, "Assignee must be a positive integer.");
        let customer_id = app.user("kayode", Role::Customer).await.id;
        agent
            .submit(&format!("{path}/triage"), &[("assignee", &customer_id)])
            .await
            .shows(StatusCode::BAD_REQUEST, "Assignee must be an active support agent or admin.");
        agent
            .submit(&format!("{path}/replies"), &[("kind", "internal"), ("body", "  ")])
            .await
            .shows(StatusCode::BAD_REQUEST, "Body must not be blank.");
        let long = "y".repeat(20_001);
        let refused = agent
            .submit(&format!("{path}/replies"), &[("kind", "public"), ("body", &long)])
            .await;
        refused.shows(StatusCode::BAD_REQUEST, "Body must be at most 20000 characters.");
        assert!(refused.has(&format!(">{long}</textarea>")), "the typed reply is kept");
        agent
            .submit(&format!("{path}/replies"), &[("kind", "shout"), ("body", "hi")])
            .await
            .shows(StatusCode::BAD_REQUEST, "kind must be public or internal");
        // A ticket the viewer may not see, or that does not exist: 404.
        for missing in [format!("{path}/replies"), "/tickets/999999/replies".to_owned()] {
            stranger
                .submit(&missing, &[("kind", "public"), ("body", "hello")])
                .await
                .shows(StatusCode::NOT_FOUND, "here, or it is not yours to see");
        }
        stranger
            .submit(&format!("{path}/resolve"), &[])
            .await
            .shows(StatusCode::NOT_FOUND, "Not found");
        // Resolved, the ticket takes no more replies.
        customer
            .submit(&format!("{path}/resolve"), &[])
            .await
            .redirects_to(&format!("{path}?done=resolved"));
        let page = customer.get(&format!("{path}?done=resolved")).await;
        page.shows(StatusCode::OK, "The ticket is resolved.");
        assert!(page.has(">Resolved</span>"));
        assert!(!page.has(r#"id="resolve""#), "resolved already");
        assert!(page.has("the ticket is resolved and takes no more replies"));
        agent
            .submit(&format!("{path}/replies"), &[("kind", "public"), ("body", "one more thing")])
            .await
            .shows(StatusCode::CONFLICT, "The ticket is resolved and takes no more replies.");
    }

    async fn the_queue_filters_and_a_bad_filter_is_a_page_with_its_reason(app) {
        let (_, mut browser) = user(&app, "kayode", Role::Customer).await;
        let (agent, mut staff) = user(&app, "benjamin", Role::SupportAgent).await;
        let replied = open_ticket(&mut browser, "Replied one", "the printer is jammed").await;
        let assigned = open_ticket(&mut browser, "Assigned one", "billing question").await;
        let untouched = open_ticket(&mut browser, "Untouched one", "scanner question").await;
        staff
            .submit(&format!("/tickets/{replied}/replies"), &[("kind", "public"), ("body", "Looking.")])
            .await
            .redirects_to(&format!("/tickets/{replied}?done=replied"));
        staff
            .submit(
                &format!("/tickets/{assigned}/triage"),
                &[("priority", "HIGH"), ("assignee", &agent.id), ("tags", "billing")],
            )
            .await
            .redirects_to(&format!("/tickets/{assigned}?done=saved"));
        let queue = staff.get("/tickets").await;
        queue.shows(StatusCode::OK, "<h1>Queue</h1>");
        assert!(queue.has(r#"id="filters""#));
        assert!(queue.has("Resolved report (CSV)"));
        assert_eq!(queue.ticket_rows(), vec![assigned, replied, untouched]);
        let rows = |page: &WebPage| {
            let mut rows = page.ticket_rows();
            rows.sort_unstable();
            rows
        };
        for (query, expected) in [
            ("status=REPLIED", vec![replied]),
            ("status=UNATTENDED", vec![assigned, untouched]),
            ("assignee=me", vec![replied, assigned]),
            ("assignee=none", vec![untouched]),
            (&format!("assignee={}", agent.id), vec![replied, assigned]),
            ("priority=HIGH", vec![assigned]),
            ("tag=billing", vec![assigned]),
            ("q=printer", vec![replied]),
            ("status=RESOLVED", vec![]),
        ] {
            let page = staff.get(&format!("/tickets?{query}")).await.expect(StatusCode::OK);
            assert_eq!(rows(&page), expected, "{query}");
        }
        let none = staff.get("/tickets?status=RESOLVED").await;
        assert!(none.has("No ticket matches these filters."), "{}", none.html);
        assert!(none.has(r#"<option value="RESOLVED" selected>"#), "the filter is kept");
        let refused = staff.get("/tickets?status=BOGUS&q=printer").await;
        refused.shows(
            StatusCode::BAD_REQUEST,
            "Status must be one of UNATTENDED, REPLIED, RESOLVED.",
        );
        assert!(refused.has(r#"id="filters""#), "the filters stay to fix it");
        assert!(refused.has(r#"value="printer""#), "{}", refused.html);
        assert!(refused.ticket_rows().is_empty());
        staff
            .get("/tickets?assignee=somebody")
            .await
            .shows(StatusCode::BAD_REQUEST, "Assignee must be me, none or a user _id.");
        staff
            .get("/tickets?sort=colour")
            .await
            .expect(StatusCode::BAD_REQUEST);
        // A customer's list takes a status, not the staff's filters.
        let mine = browser.get("/tickets?status=REPLIED").await.expect(StatusCode::OK);
        assert_eq!(mine.ticket_rows(), vec![replied]);
        browser
            .get("/tickets?assignee=me")
            .await
            .shows(StatusCode::FORBIDDEN, "Only support agents and admins filter by assignee or tag.");
    }

    async fn the_queue_pages_with_cursors_and_a_tampered_cursor_is_a_400_page(app) {
        let customer = app.customer("kayode").await;
        let (_, staff) = user(&app, "benjamin", Role::SupportAgent).await;
        let author = customer.actor();
        app.with_store(move |store| {
            for n in 0..27 {
                store
                    .create_ticket(
                        author,
                        &NewTicket {
                            subject: None,
                            body: TicketBody::parse(format!("ticket number {n}")).expect("valid"),
                        },
                    )
                    .expect("create");
            }
        })
        .await;
        let first = staff.get("/tickets").await.expect(StatusCode::OK);
        let mut seen = first.ticket_rows();
        assert_eq!(seen.len(), 25, "a page holds 25");
        assert!(first.has("Next page"));
        assert!(!first.has("First page"));
        let next = attribute_of(&first.html, r#"id="next-page""#, "href").expect("a next link");
        assert!(next.starts_with("/tickets?") && next.contains("cursor="), "{next}");
        let second = staff.get(&next).await.expect(StatusCode::OK);
        let rest = second.ticket_rows();
        assert_eq!(rest.len(), 2, "{}", second.html);
        assert!(!second.has("Next page"));
        assert!(second.has("First page"));
        seen.extend(rest);
        let mut unique = seen.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 27, "every ticket once: {seen:?}");
        // A cursor changed by hand, or taken to another query, is refused
        // as a page, never a 500.
        let cursor = next.split("cursor=").nth(1).expect("cursor").to_owned();
        let mut tampered: Vec<char> = cursor.chars().collect();
        let middle = tampered.len() / 2;
        tampered[middle] = if tampered[middle] == 'A' { 'B' } else { 'A' };
        let tampered: String = tampered.into_iter().collect();
        for path in [
            format!("/tickets?cursor={tampered}"),
            "/tickets?cursor=not-a-cursor".to_owned(),
            format!("/tickets?status=UNATTENDED&cursor={cursor}"),
        ] {
            let page = staff.get(&path).await;
            page.shows(StatusCode::BAD_REQUEST, r#"id="form-error""#);
            assert!(page.has("Cursor"), "{path}: {}", page.html);
        }
        // The customer's own list pages the same way.
        let browser = Browser::signed_in(&app, "kayode").await;
        let mine = browser.get("/tickets").await;
        assert_eq!(mine.ticket_rows().len(), 25);
        let next = attribute_of(&mine.html, r#"id="next-page""#, "href").expect("a next link");
        assert_eq!(browser.get(&next).await.ticket_rows().len(), 2);
    }

    async fn the_report_downloads_for_staff_and_is_refused_to_a_customer(app) {
        let (_, mut customer) = user(&app, "kayode", Role::Customer).await;
        let (_, agent) = user(&app, "benjamin", Role::SupportAgent).await;
        let (_, admin) = user(&app, "iambenkay", Role::Admin).await;
        let resolved = open_ticket(&mut customer, "Done deal", "solved on my own").await;
        let open = open_ticket(&mut customer, "Still open", "not solved").await;
        customer
            .submit(&format!("/tickets/{resolved}/resolve"), &[])
            .await
            .redirects_to(&format!("/tickets/{resolved}?done=resolved"));
        for staff in [&agent, &admin] {
            let report = staff.get("/report.csv").await.expect(StatusCode::OK);
            assert!(report.header("content-type").starts_with("text/csv"), "{:?}", report.headers);
            assert!(report.header("content-disposition").starts_with("attachment"));
            let mut lines = report.html.lines();
            assert!(lines.next().is_some_and(|header| header.starts_with("ticketId,")));
            let rows: Vec<&str> = lines.collect();
            assert_eq!(rows.len(), 1, "{}", report.html);
            assert!(rows[0].starts_with(&format!("{resolved},Done deal,")), "{}", rows[0]);
            assert!(!report.has(&format!("\n{open},")));
        }
        customer
            .get("/report.csv")
            .await
            .shows(StatusCode::FORBIDDEN, "Only support agents and admins can read the report");
    }

    async fn an_admin_lists_filters_and_creates_accounts(app) {
        let (_, mut admin) = user(&app, "iambenkay", Role::Admin).await;
        app.customer("kayode").await;
        app.agent().await;
        let page = admin.get("/admin/users").await;
        page.shows(StatusCode::OK, "<h1>Users</h1>");
        for name in ["iambenkay", "kayode", "benjamin"] {
            assert!(page.has(&format!(r#"<strong class="username">{name}</strong>"#)), "{name}");
        }
        let customers = admin.get("/admin/users?role=CUSTOMER").await.expect(StatusCode::OK);
        assert!(customers.has(">kayode</strong>"));
        assert!(!customers.has(">benjamin</strong>"));
        assert!(!customers.has(">iambenkay</strong>"));
        assert!(customers.has(r#"<option value="CUSTOMER" selected>"#));
        let none = admin.get("/admin/users?role=SUPPORT_AGENT").await;
        assert!(none.has(">benjamin</strong>") && !none.has(">kayode</strong>"));
        admin
            .get("/admin/users?role=ROOT")
            .await
            .shows(StatusCode::BAD_REQUEST, "Role must be one of ADMIN, SUPPORT_AGENT, CUSTOMER");
        // A staff account, made here, signs in to the queue.
        admin
            .submit("/admin/users", &[("username", "newagent"), ("pin", "5678"), ("role", "SUPPORT_AGENT")])
            .await
            .redirects_to("/admin/users?done=user-created");
        let page = admin.get("/admin/users?done=user-created").await;
        page.shows(StatusCode::OK, "Account created.");
        assert!(page.has(">newagent</strong>"));
        let mut newagent = Browser::signed_out(&app);
        newagent.sign_in("newagent", "5678", None).await.redirects_to("/tickets");
        newagent.get("/tickets").await.shows(StatusCode::OK, "<h1>Queue</h1>");
        // Refused: the form comes back with the username typed.
        let taken = admin
            .submit("/admin/users", &[("username", "kayode"), ("pin", "5678"), ("role", "ADMIN")])
            .await;
        taken.shows(StatusCode::CONFLICT, "The username is taken.");
        assert!(taken.has(r#"id="new-username" name="username" value="kayode""#), "{}", taken.html);
        let bad_pin = admin
            .submit("/admin/users", &[("username", "another"), ("pin", "12ab"), ("role", "ADMIN")])
            .await;
        bad_pin.shows(StatusCode::BAD_REQUEST, "Pin must be");
        assert!(bad_pin.has(r#"value="another""#));
        admin
            .submit("/admin/users", &[("username", "another"), ("pin", "1234"), ("role", "ROOT")])
            .await
            .shows(StatusCode::BAD_REQUEST, "Role must be one of");
        newagent.sign_in("another", "1234", None).await.shows(StatusCode::UNAUTHORIZED, "Invalid username or pin.");
    }

    async fn an_admin_changes_roles_standing_and_pins_and_sessions_follow_at_once(app) {
        let (admin_session, mut admin) = user(&app, "iambenkay", Role::Admin).await;
        let (kayode, customer) = user(&app, "kayode", Role::Customer).await;
        let kayode_id = kayode.id.clone();
        let users = |what: &str| format!("/admin/users/{kayode_id}/{what}");
        // Promoted, the open session sees the queue at once.
        assert!(customer.get("/tickets").await.has("<h1>My tickets"));
        admin
            .submit(&users("role"), &[("role", "SUPPORT_AGENT")])
            .await
            .redirects_to(&format!("/admin/users?done=role#user-{kayode_id}"));
        admin.get("/admin/users?done=role").await.shows(StatusCode::OK, "Role changed.");
        let queue = customer.get("/tickets").await;
        queue.shows(StatusCode::OK, "<h1>Queue</h1>");
        assert!(queue.has(r#"id="filters""#));
        customer.get("/report.csv").await.expect(StatusCode::OK);
        assert_eq!(account(&app, admin_session.actor(), &kayode_id).await.role, Role::SupportAgent);
        admin
            .submit(&users("role"), &[("role", "CUSTOMER")])
            .await
            .redirects_to(&format!("/admin/users?done=role#user-{kayode_id}"));
        assert!(customer.get("/tickets").await.has("<h1>My tickets"));
        // Deactivated, the session ends at once, and reactivating the
        // account does not bring it back.
        admin
            .submit(&users("active"), &[("active", "false")])
            .await
            .redirects_to(&format!("/admin/users?done=deactivated#user-{kayode_id}"));
        let page = admin.get("/admin/users?done=deactivated").await;
        page.shows(StatusCode::OK, "Account deactivated; its sessions have ended.");
        assert!(page.has(&format!(r#"id="reactivate-{kayode_id}""#)), "{}", page.html);
        customer.get("/tickets").await.redirects_to("/login?next=/tickets");
        assert!(!account(&app, admin_session.actor(), &kayode_id).await.active);
        let mut again = Browser::signed_out(&app);
        again
            .sign_in("kayode", PIN, None)
            .await
            .shows(StatusCode::UNAUTHORIZED, "Invalid username or pin.");
        admin
            .submit(&users("active"), &[("active", "true")])
            .await
            .redirects_to(&format!("/admin/users?done=reactivated#user-{kayode_id}"));
        customer.get("/tickets").await.redirects_to("/login?next=/tickets");
        admin
            .submit(&users("active"), &[("active", "maybe")])
            .await
            .shows(StatusCode::BAD_REQUEST, "active must be true or false");
        // A PIN reset ends the session too; the new PIN signs in.
        let mut fresh = Browser::signed_in(&app, "kayode").await;
        fresh.get("/tickets").await.expect(StatusCode::OK);
        admin
            .submit(&users("pin"), &[("pin", "246810")])
            .await
            .redirects_to(&format!("/admin/users?done=pin#user-{kayode_id}"));
        admin
            .get("/admin/users?done=pin")
            .await
            .shows(StatusCode::OK, "PIN reset; the account&#39;s sessions have ended.");
        fresh.get("/tickets/new").await.redirects_to("/login?next=/tickets/new");
        fresh
            .sign_in("kayode", PIN, None)
            .await
            .expect(StatusCode::UNAUTHORIZED);
        fresh.sign_in("kayode", "246810", None).await.redirects_to("/tickets");
        admin
            .submit(&users("pin"), &[("pin", "12")])
            .await
            .shows(StatusCode::BAD_REQUEST, "Pin must be");
        fresh.get("/tickets").await.expect(StatusCode::OK);
        admin
            .submit("/admin/users/999999/role", &[("role", "ADMIN")])
            .await
            .shows(StatusCode::NOT_FOUND, "here, or it is not yours to see");
    }

    async fn the_last_admin_cannot_deactivate_or_demote_themself(app) {
        let (admin_session, mut admin) = user(&app, "iambenkay", Role::Admin).await;
        let me = admin_session.id.clone();
        let page = admin.get("/admin/users").await;
        assert!(page.has(&format!(r#"id="deactivate-{me}""#)));
        for (what, field) in [("active", ("active", "false")), ("role", ("role", "CUSTOMER"))] {
            let refused = admin
                .submit(&format!("/admin/users/{me}/{what}"), &[field])
                .await;
            refused.shows(StatusCode::CONFLICT, "The change would leave no active admin.");
            assert!(refused.has(r#"id="users""#), "the list is shown again");
        }
        let still = account(&app, admin_session.actor(), &me).await;
        assert!(still.active);
        assert_eq!(still.role, Role::Admin);
        admin.get("/admin/users").await.expect(StatusCode::OK);
    }

    async fn only_admins_reach_user_administration(app) {
        let (admin_session, _) = user(&app, "iambenkay", Role::Admin).await;
        let (_, mut agent) = user(&app, "benjamin", Role::SupportAgent).await;
        let (kayode, mut customer) = user(&app, "kayode", Role::Customer).await;
        for browser in [&agent, &customer] {
            let page = browser.get("/admin/users").await;
            page.shows(StatusCode::FORBIDDEN, "Not allowed");
            assert!(!page.has(">kayode</strong>"), "{}", page.html);
        }
        assert!(!agent.get("/tickets").await.has(r#"href="/admin/users""#));
        let target = format!("/admin/users/{}/active", kayode.id);
        agent
            .submit(&target, &[("active", "false")])
            .await
            .expect(StatusCode::FORBIDDEN);
        customer
            .submit(&format!("/admin/users/{}/role", kayode.id), &[("role", "ADMIN")])
            .await
            .expect(StatusCode::FORBIDDEN);
        agent
            .submit("/admin/users", &[("username", "sneaky"), ("pin", "1234"), ("role", "ADMIN")])
            .await
            .expect(StatusCode::FORBIDDEN);
        let account = account(&app, admin_session.actor(), &kayode.id).await;
        assert!(account.active);
        assert_eq!(account.role, Role::Customer);
        customer.get("/tickets").await.expect(StatusCode::OK);
        app.login("sneaky", "1234").await.expect(StatusCode::UNAUTHORIZED);
    }

    /// Staff see who opened a ticket beside it, with a `mailto:` link to
    /// their address (escaped in the page, percent-encoded in the link),
    /// and their name in the queue; the customer's own pages show neither.
    async fn staff_see_the_requester_and_their_address_the_customer_does_not(app) {
        let (kayode, mut customer) = user(&app, "kayode", Role::Customer).await;
        let (_, mut tolu) = user(&app, "tolu", Role::Customer).await;
        let (_, agent) = user(&app, "benjamin", Role::SupportAgent).await;
        app.patch("/api/v1/users/me", &kayode, json!({"email": "o'neil+help@example.com"}))
            .await
            .expect(StatusCode::OK);
        let id = open_ticket(&mut customer, "Refund", "please refund order 7").await;
        let other = open_ticket(&mut tolu, "Fax", "the fax is on fire").await;
        let path = format!("/tickets/{id}");
        let page = agent.get(&path).await.expect(StatusCode::OK);
        assert!(page.has(r#"<dd id="requester">kayode<br><a href="mailto:o%27neil+help@example.com" id="requester-email">o&#39;neil+help@example.com</a></dd>"#)
            || page.has(r#"<dd id="requester">kayode<br><a href="mailto:o%27neil+help@example.com" id="requester-email">o&#x27;neil+help@example.com</a></dd>"#),
            "{}", page.html);
        let none = agent.get(&format!("/tickets/{other}")).await.expect(StatusCode::OK);
        assert!(none.has(r#"<dd id="requester">tolu<br><span class="hint">no email address</span></dd>"#), "{}", none.html);
        let queue = agent.get("/tickets").await.expect(StatusCode::OK);
        assert!(queue.has(r#"<span class="requester">from kayode</span>"#), "{}", queue.html);
        assert!(queue.has(r#"<span class="requester">from tolu</span>"#), "{}", queue.html);
        for own in [customer.get(&path).await.expect(StatusCode::OK), customer.get("/tickets").await.expect(StatusCode::OK)] {
            assert!(!own.has("requester") && !own.has("mailto:") && !own.has("neil"), "{}", own.html);
        }
    }

    async fn ticket_text_is_shown_as_text_never_as_markup(app) {
        let (_, mut customer) = user(&app, "kayode", Role::Customer).await;
        let (_, mut agent) = user(&app, "benjamin", Role::SupportAgent).await;
        let id = open_ticket(
            &mut customer,
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)> \"><script>alert(2)</script>",
        )
        .await;
        let path = format!("/tickets/{id}");
        agent
            .submit(&format!("{path}/replies"), &[("kind", "public"), ("body", "</textarea><script>alert(3)</script>")])
            .await
            .redirects_to(&format!("{path}?done=replied"));
        agent
            .submit(&format!("{path}/triage"), &[("tags", "<b>")])
            .await
            .expect(StatusCode::BAD_REQUEST);
        let refused = customer
            .submit("/tickets", &[("subject", "\"><script>alert(4)</script>"), ("body", "</textarea><script>alert(5)</script>")])
            .await;
        assert_eq!(refused.status, StatusCode::SEE_OTHER, "{}", refused.html);
        let refused_form = customer
            .submit("/tickets", &[("subject", "\"><script>alert(6)</script>"), ("body", " ")])
            .await;
        let refused_form = refused_form.expect(StatusCode::BAD_REQUEST);
        let pages = [
            customer.get("/tickets").await,
            customer.get(&path).await,
            agent.get("/tickets").await,
            agent.get(&path).await,
            agent.get("/tickets?q=%3Cscript%3Ealert(7)%3C/script%3E").await,
            refused_form,
        ];
        for page in &pages {
            assert!(!page.has("<script"), "raw markup on a page: {}", page.html);
            assert!(!page.has("<img src=x"), "raw markup on a page: {}", page.html);
            assert!(!page.has("</textarea><"), "raw markup on a page: {}", page.html);
            assert!(
                page.has("&#60;script") || page.has("&lt;script"),
                "the text is shown escaped: {}",
                page.html
            );
        }
        assert!(
            pages[1].has("&#60;img src=x onerror=alert(1)&#62;")
                || pages[1].has("&lt;img src=x onerror=alert(1)&gt;"),
            "{}",
            pages[1].html
        );
    }

    async fn a_form_without_its_token_or_from_another_site_changes_nothing(app) {
        let (admin_session, mut admin) = user(&app, "iambenkay", Role::Admin).await;
        let (_, mut agent) = user(&app, "benjamin", Role::SupportAgent).await;
        let (_, mut customer) = user(&app, "kayode", Role::Customer).await;
        let (target, mut target_browser) = user(&app, "tolu", Role::Customer).await;
        let (_, attacker) = user(&app, "mallory", Role::Customer).await;
        let id = open_ticket(&mut customer, "Refund", "please refund order 7").await;
        agent
            .submit(&format!("/tickets/{id}/replies"), &[("kind", "public"), ("body", "Looking.")])
            .await
            .redirects_to(&format!("/tickets/{id}?done=replied"));
        let target_id = target.id.clone();
        let replies = format!("/tickets/{id}/replies");
        let triage = format!("/tickets/{id}/triage");
        let resolve = format!("/tickets/{id}/resolve");
        let role = format!("/admin/users/{target_id}/role");
        let active = format!("/admin/users/{target_id}/active");
        let pin = format!("/admin/users/{target_id}/pin");
        // Every form, sent by one who may send it, each changing something.
        let forms: Vec<(&str, &str, Fields)> = vec![
            ("customer", "/tickets", vec![("subject", "New"), ("body", "forged ticket")]),
            ("customer", replies.as_str(), vec![("kind", "public"), ("body", "forged reply")]),
            ("agent", replies.as_str(), vec![("kind", "internal"), ("body", "forged note")]),
            ("agent", triage.as_str(), vec![("priority", "URGENT"), ("assignee", ""), ("tags", "forged")]),
            ("customer", resolve.as_str(), vec![]),
            ("admin", "/admin/users", vec![("username", "forged"), ("pin", "1234"), ("role", "ADMIN")]),
            ("admin", role.as_str(), vec![("role", "ADMIN")]),
            ("admin", active.as_str(), vec![("active", "false")]),
            ("admin", pin.as_str(), vec![("pin", "9999")]),
            ("target", "/logout", vec![]),
        ];
        let mut second_sessions = Vec::new();
        for name in ["iambenkay", "benjamin", "kayode", "tolu"] {
            second_sessions.push(Browser::signed_in(&app, name).await);
        }
        let id = TicketId(id);
        let before = world(&app, admin_session.actor(), id).await;
        let ours: &[(&str, &str)] = &[("origin", "http://tracker.test"), ("host", "tracker.test")];
        for (owner, path, fields) in &forms {
            let (browser, second) = match *owner {
                "admin" => (&admin, &second_sessions[0]),
                "agent" => (&agent, &second_sessions[1]),
                "customer" => (&customer, &second_sessions[2]),
                _ => (&target_browser, &second_sessions[3]),
            };
            let token = browser.csrf.as_str();
            assert_ne!(token, second.csrf, "a token is its session's, not its account's");
            let attempts: Vec<(&str, Fields, Headers)> = vec![
                ("no token", fields.clone(), SAME_ORIGIN),
                ("an empty token", with_token(fields, ""), SAME_ORIGIN),
                (
                    "a made-up token",
                    with_token(fields, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                    SAME_ORIGIN,
                ),
                ("another account's token", with_token(fields, &attacker.csrf), SAME_ORIGIN),
                ("another session's token", with_token(fields, &second.csrf), SAME_ORIGIN),
                (
                    "another site's Origin",
                    with_token(fields, token),
                    &[("origin", "https://evil.example"), ("host", "tracker.test")][..],
                ),
                (
                    "our host over https, which this http server is not",
                    with_token(fields, token),
                    &[("origin", "https://tracker.test"), ("host", "tracker.test")][..],
                ),
                (
                    "our host on another port",
                    with_token(fields, token),
                    &[("origin", "http://tracker.test:8080"), ("host", "tracker.test")][..],
                ),
                (
                    "an opaque Origin",
                    with_token(fields, token),
                    &[("origin", "null"), ("host", "tracker.test")][..],
                ),
                (
                    "a cross-site fetch",
                    with_token(fields, token),
                    &[("sec-fetch-site", "cross-site"), ("origin", "http://tracker.test"), ("host", "tracker.test")][..],
                ),
                (
                    "a sibling site's fetch",
                    with_token(fields, token),
                    &[("sec-fetch-site", "same-site")][..],
                ),
            ];
            for (what, sent, headers) in attempts {
                let page = browser.post(path, &sent, headers).await;
                assert_eq!(page.status, StatusCode::FORBIDDEN, "{owner} {path} with {what}: {}", page.html);
                page.shows(StatusCode::FORBIDDEN, CROSS_SITE);
                assert!(
                    page.session_cookie().is_none(),
                    "{owner} {path} with {what} touched the cookie"
                );
            }
        }
        assert_eq!(
            world(&app, admin_session.actor(), id).await,
            before,
            "a refused form changed something"
        );
        for browser in [&admin, &agent, &customer, &target_browser] {
            browser.get("/tickets").await.expect(StatusCode::OK);
        }
        // The same forms, sent from our own page (by Origin here), each go
        // through: the refusals above were the token's and the site's.
        for (owner, path, fields) in &forms {
            let browser = match *owner {
                "admin" => &mut admin,
                "agent" => &mut agent,
                "customer" => &mut customer,
                _ => &mut target_browser,
            };
            let token = browser.csrf.clone();
            let page = browser.post(path, &with_token(fields, &token), ours).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{owner} {path}: {}", page.html);
        }
        let after = world(&app, admin_session.actor(), id).await;
        for changed in [
            "forged reply",
            "forged note",
            "Urgent",
            "Resolved",
            "Tag(\"forged\")",
            "username: \"forged\"",
            "role: Admin, active: false",
            "\nSome(2)\n",
        ] {
            assert!(after.contains(changed), "{changed} not in {after}");
        }
        target_browser.get("/tickets").await.redirects_to("/login?next=/tickets");
        // Signed out, a form is sent to sign in, and changes nothing.
        Browser::signed_out(&app)
            .post("/tickets", &[("body", "anonymous")], SAME_ORIGIN)
            .await
            .redirects_to("/login");
        assert_eq!(world(&app, admin_session.actor(), id).await, after);
    }

    async fn signing_in_or_up_from_another_site_is_refused(app) {
        app.customer("kayode").await;
        let browser = Browser::signed_out(&app);
        for headers in [
            &[("sec-fetch-site", "cross-site")][..],
            &[("origin", "https://evil.example"), ("host", "tracker.test")][..],
            // Our host, but over https: not this http server's origin.
            &[("origin", "https://tracker.test"), ("host", "tracker.test")][..],
            &[("origin", "http://tracker.test:8080"), ("host", "tracker.test")][..],
        ] {
            let page = browser
                .post("/login", &[("username", "kayode"), ("pin", PIN)], headers)
                .await;
            page.shows(StatusCode::FORBIDDEN, CROSS_SITE);
            assert!(page.session_cookie().is_none());
            let page = browser
                .post("/signup", &[("username", "forged"), ("pin", "4821")], headers)
                .await;
            page.shows(StatusCode::FORBIDDEN, CROSS_SITE);
            assert!(page.session_cookie().is_none());
        }
        app.login("forged", "4821").await.expect(StatusCode::UNAUTHORIZED);
        // From our own page (by Origin), both go through.
        let ours = &[("origin", "http://tracker.test"), ("host", "tracker.test")][..];
        browser
            .post("/login", &[("username", "kayode"), ("pin", PIN)], ours)
            .await
            .redirects_to("/tickets");
        browser
            .post("/signup", &[("username", "forged"), ("pin", "4821")], ours)
            .await
            .redirects_to("/tickets/new");
    }

    async fn signing_out_ends_the_session_for_every_copy_of_the_cookie(app) {
        let (_, mut browser) = user(&app, "kayode", Role::Customer).await;
        let other_device = Browser::signed_in(&app, "kayode").await;
        let copy = Browser::with_cookie(&app, browser.cookie());
        let page = browser.submit("/logout", &[]).await;
        page.redirects_to("/login?done=signed-out");
        let cleared = page.session_cookie().expect("the cookie is cleared");
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
        assert!(browser.cookie.is_none());
        copy.get("/tickets").await.redirects_to("/login?next=/tickets");
        copy.get("/").await.redirects_to("/tickets");
        browser
            .get("/login?done=signed-out")
            .await
            .shows(StatusCode::OK, "You are signed out.");
        other_device.get("/tickets").await.expect(StatusCode::OK);
        // Signing out without a session just goes to sign in.
        Browser::signed_out(&app)
            .post("/logout", &[], SAME_ORIGIN)
            .await
            .redirects_to("/login");
    }

    async fn every_page_forbids_scripts_framing_and_caching(app) {
        let (_, mut customer) = user(&app, "kayode", Role::Customer).await;
        let (_, admin) = user(&app, "iambenkay", Role::Admin).await;
        let id = open_ticket(&mut customer, "Headers", "check them").await;
        let signed_out = Browser::signed_out(&app);
        let pages = [
            signed_out.get("/login").await,
            signed_out.get("/signup").await,
            signed_out.get("/tickets").await,
            customer.get("/tickets").await,
            customer.get("/tickets/new").await,
            customer.get(&format!("/tickets/{id}")).await,
            customer.get("/tickets/999999").await,
            customer.get("/admin/users").await,
            admin.get("/admin/users").await,
            admin.get("/report.csv").await,
            customer.submit("/tickets", &[("body", "")]).await,
        ];
        for page in &pages {
            let policy = page.header("content-security-policy");
            assert!(policy.contains("script-src 'none'"), "{policy}");
            assert!(policy.contains("default-src 'none'"), "{policy}");
            assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
            assert_eq!(page.header("cache-control"), "no-store", "{:?}", page.headers);
            assert_eq!(page.header("x-frame-options"), "DENY");
        }
        for page in pages.iter().filter(|page| page.status != StatusCode::SEE_OTHER) {
            if !page.header("content-type").starts_with("text/csv") {
                assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
                assert!(!page.has("<script"), "no script on any page");
                assert!(!page.has("http://") && !page.has("https://"), "nothing from another origin: {}", page.html);
            }
        }
    }

    async fn assets_are_embedded_fingerprinted_and_cached_for_a_year(app) {
        let browser = Browser::signed_out(&app);
        let page = browser.get("/login").await.expect(StatusCode::OK);
        let stylesheet = attribute_of(&page.html, r#"rel="stylesheet""#, "href").expect("a stylesheet");
        let icon = attribute_of(&page.html, r#"rel="icon""#, "href").expect("an icon");
        for (url, kind) in [(&stylesheet, "text/css"), (&icon, "image/svg+xml")] {
            assert!(url.starts_with("/assets/"), "{url}");
            let asset = browser.get(url).await.expect(StatusCode::OK);
            assert!(asset.header("content-type").starts_with(kind), "{:?}", asset.headers);
            assert_eq!(asset.header("cache-control"), "public, max-age=31536000, immutable");
            assert!(!asset.html.is_empty());
        }
        assert!(browser.get(&stylesheet).await.has("{"), "the stylesheet itself");
        for unknown in ["/assets/app.000000000000.css", "/assets/app.css", "/assets/nothing"] {
            let missing = browser.get(unknown).await;
            assert_eq!(missing.status, StatusCode::NOT_FOUND, "{unknown}");
            assert_ne!(missing.header("cache-control"), "public, max-age=31536000, immutable");
        }
    }

    async fn a_missing_or_hidden_ticket_is_an_html_404_page(app) {
        let (_, mut owner) = user(&app, "kayode", Role::Customer).await;
        let (_, stranger) = user(&app, "tolu", Role::Customer).await;
        let id = open_ticket(&mut owner, "Private", "my secret problem").await;
        let missing = stranger.get("/tickets/999999").await;
        missing.shows(StatusCode::NOT_FOUND, "here, or it is not yours to see");
        assert!(missing.has("<h1>Not found</h1>"));
        let hidden = stranger.get(&format!("/tickets/{id}")).await;
        hidden.shows(StatusCode::NOT_FOUND, "here, or it is not yours to see");
        assert!(!hidden.has("my secret problem"));
        assert_eq!(
            hidden.html, missing.html,
            "a hidden ticket answers exactly as a missing one"
        );
        for path in ["/tickets/abc", "/tickets/-1", "/tickets/99999999999999999999999"] {
            stranger.get(path).await.shows(StatusCode::NOT_FOUND, "Not found");
        }
    }

    async fn strangers_wrong_pins_lock_the_form_but_not_the_owners_known_browser(app) {
        app.customer("kayode").await;
        let mut owner = Browser::signed_in(&app, "kayode").await;
        assert!(owner.device.is_some(), "a sign-in leaves a known-device cookie");
        owner.submit("/logout", &[]).await.redirects_to("/login?done=signed-out");
        let mut stranger = Browser::signed_out(&app);
        for _ in 0..5 {
            stranger
                .sign_in("kayode", "999999", None)
                .await
                .shows(StatusCode::UNAUTHORIZED, "Invalid username or pin.");
        }
        let locked = stranger.sign_in("kayode", PIN, None).await;
        locked.shows(StatusCode::TOO_MANY_REQUESTS, "Too many failed");
        assert!(locked.has(r#"value="kayode""#), "{}", locked.html);
        let wait: u64 = locked.header("retry-after").parse().expect("a Retry-After");
        assert!((1..=30).contains(&wait), "{wait}");
        assert!(stranger.cookie.is_none());
        // The owner's browser counts apart, and gets in.
        owner.sign_in("kayode", PIN, None).await.redirects_to("/tickets");
        owner.get("/tickets").await.expect(StatusCode::OK);
    }

    async fn a_long_thread_and_history_page_on_with_cursors(app) {
        let customer = load(&app, "kayode", Role::Customer).await;
        let agent = load(&app, "benjamin", Role::SupportAgent).await;
        let id = app
            .with_store(move |store| {
                let ticket = store
                    .create_ticket(
                        customer,
                        &NewTicket {
                            subject: Some(domain::Subject::parse("Long one").expect("valid")),
                            body: TicketBody::parse("the start").expect("valid"),
                        },
                    )
                    .expect("create");
                for n in 0..101 {
                    let body = ReplyBody::parse(format!("reply number {n}.")).expect("valid");
                    store
                        .add_reply(agent, ticket.id, &body, ReplyKind::Public)
                        .expect("reply");
                }
                ticket.id
            })
            .await;
        let browser = Browser::signed_in(&app, "benjamin").await;
        let path = format!("/tickets/{id}");
        let first = browser.get(&path).await.expect(StatusCode::OK);
        assert!(first.has("reply number 0.") && first.has("reply number 99."));
        assert!(!first.has("reply number 100."), "a page holds 100 replies");
        let later = attribute_of(&first.html, "Later replies", "href").expect("a later-replies link");
        assert!(later.starts_with(&format!("{path}?replies=")), "{later}");
        let second = browser.get(&later).await.expect(StatusCode::OK);
        assert!(second.has("reply number 100."), "{}", second.html);
        assert!(!second.has("reply number 99."));
        assert!(!second.has("Later replies"));
        let history = attribute_of(&first.html, "Later history", "href").expect("a later-history link");
        assert!(history.starts_with(&format!("{path}?history=")), "{history}");
        let rest = browser.get(&history).await.expect(StatusCode::OK);
        assert!(!rest.has("opened the ticket"), "the history goes on from where it was");
        assert!(rest.has("replied"));
        // A cursor that is not one, or is another list's, is a 400 page.
        let replies_cursor = later.split("replies=").nth(1).expect("cursor");
        for bad in [
            format!("{path}?replies=junk"),
            format!("{path}?history=junk"),
            format!("{path}?history={replies_cursor}"),
        ] {
            browser.get(&bad).await.shows(StatusCode::BAD_REQUEST, "cursor");
        }
        browser
            .get(&format!("/tickets/{}?replies={replies_cursor}", id.0 + 1))
            .await
            .shows(StatusCode::NOT_FOUND, "not yours to see");
    }

    async fn the_users_list_pages_with_cursors(app) {
        load(&app, "iambenkay", Role::Admin).await;
        for n in 0..52 {
            load(&app, &format!("customer-{n:02}"), Role::Customer).await;
        }
        let browser = Browser::signed_in(&app, "iambenkay").await;
        let first = browser.get("/admin/users").await.expect(StatusCode::OK);
        let count = |page: &WebPage| page.html.matches(r#"<strong class="username">"#).count();
        assert_eq!(count(&first), 50, "a page holds 50");
        let next = attribute_of(&first.html, r#"id="next-page""#, "href").expect("a next link");
        let second = browser.get(&next).await.expect(StatusCode::OK);
        assert_eq!(count(&second), 3);
        assert!(second.has(">customer-51</strong>"));
        assert!(!second.has(">customer-00</strong>"));
        assert!(second.has("First page"));
        // The filter goes on with the cursor.
        let customers = browser.get("/admin/users?role=CUSTOMER").await;
        let next = attribute_of(&customers.html, r#"id="next-page""#, "href").expect("a next link");
        assert!(next.contains("role=CUSTOMER"), "{next}");
        let rest = browser.get(&next).await.expect(StatusCode::OK);
        assert_eq!(count(&rest), 2);
        assert!(!rest.has(">iambenkay</strong>"));
        browser
            .get("/admin/users?cursor=junk")
            .await
            .shows(StatusCode::BAD_REQUEST, "cursor");
    }

    async fn behind_an_https_public_url_cookies_are_secure_and_posts_come_from_it(app) {
        let app = configured(app, Some("https://Help.Example.com/tracker"), Budgets::off());
        load(&app, "kayode", Role::Customer).await;
        let ours: Headers = &[("origin", "https://help.example.com"), ("host", "10.0.0.5:9003")];
        let visitor = Browser::signed_out(&app);
        for (what, headers) in [
            ("plain http", &[("origin", "http://help.example.com"), ("host", "help.example.com")][..]),
            ("the Host it was sent to", &[("origin", "http://10.0.0.5:9003"), ("host", "10.0.0.5:9003")][..]),
            ("another site", &[("origin", "https://evil.example"), ("host", "help.example.com")][..]),
        ] {
            let page = visitor
                .post("/login", &[("username", "kayode"), ("pin", PIN)], headers)
                .await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{what}");
            assert!(page.session_cookie().is_none(), "{what}");
        }
        let mut browser = Browser::signed_out(&app);
        let signed_in = browser
            .post("/login", &[("username", "kayode"), ("pin", PIN)], ours)
            .await;
        signed_in.redirects_to("/tickets");
        let cookie = signed_in.session_cookie().expect("a session cookie").to_owned();
        assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"), "{cookie}");
        browser.keep_cookie(&signed_in).await;
        let token = browser.csrf.clone();
        let fields = [("subject", "Over https"), ("body", "from the public origin"), ("_csrf", &token)];
        browser
            .post("/tickets", &fields, &[("origin", "https://help.example.com:8443")])
            .await
            .expect(StatusCode::FORBIDDEN);
        let page = browser.post("/tickets", &fields, ours).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
        let signed_out = browser.post("/logout", &[("_csrf", &token)], ours).await;
        signed_out.redirects_to("/login?done=signed-out");
        let cleared = signed_out.session_cookie().expect("cleared");
        assert!(cleared.contains("Secure") && cleared.contains("Max-Age=0"), "{cleared}");
    }

    async fn over_budget_forms_get_a_429_page_that_keeps_what_was_typed(app) {
        let budgets = Budgets {
            address_per_minute: 3,
            account_writes_per_minute: 1,
            ..Budgets::off()
        };
        let app = configured(app, None, budgets);
        load(&app, "kayode", Role::Customer).await;
        let mut browser = Browser::signed_in(&app, "kayode").await;
        open_ticket(&mut browser, "First", "within the budget").await;
        let refused = browser
            .submit("/tickets", &[("subject", "Second"), ("body", "over the budget")])
            .await;
        refused.shows(StatusCode::TOO_MANY_REQUESTS, "too many new tickets and replies");
        assert!(refused.has(r#"value="Second""#) && refused.has(">over the budget</textarea>"));
        let wait: u64 = refused.header("retry-after").parse().expect("a Retry-After");
        assert!(wait >= 1, "{wait}");
        assert_eq!(browser.get("/tickets").await.ticket_rows().len(), 1);
        // Sign-ins from one address share its budget (one is spent above).
        let mut other = Browser::signed_out(&app);
        other.sign_in("kayode", "999999", None).await.expect(StatusCode::UNAUTHORIZED);
        other.sign_in("kayode", "999999", None).await.expect(StatusCode::UNAUTHORIZED);
        let throttled = other.sign_in("kayode", PIN, None).await;
        throttled.shows(StatusCode::TOO_MANY_REQUESTS, "too many login attempts from this address");
        assert!(throttled.has(r#"value="kayode""#));
        assert!(throttled.header("retry-after").parse::<u64>().is_ok());
        assert!(throttled.session_cookie().is_none());
    }

    async fn a_sign_in_back_to_a_page_with_any_characters_is_still_a_redirect(app) {
        load(&app, "kayode", Role::Customer).await;
        for next in ["/tickets?q=caf\u{e9}", "/tickets/\u{1F600}", "/tickets?q=a b\"c"] {
            let mut browser = Browser::signed_out(&app);
            let page = browser.sign_in("kayode", PIN, Some(next)).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{next}: {}", page.html);
            let location = page.location();
            assert!(location.starts_with('/') && !location.starts_with("//"), "{location}");
            assert!(browser.cookie.is_some(), "{next}: signed in");
        }
    }
}

http_tests! {
    /// The account page's Tokens section: list, create (the token shown on
    /// that page only, and working over the API), refusals shown beside
    /// the form, CSRF, and revoke.
    async fn the_account_page_lists_creates_shows_once_and_revokes_api_tokens(app) {
        let (session, mut browser) = user(&app, "kayode", Role::Customer).await;
        let (_, mut stranger) = user(&app, "tolu", Role::Customer).await;
        let page = browser.get("/account").await.expect(StatusCode::OK);
        assert!(page.has("Tokens") && page.has(r#"id="no-tokens""#), "{}", page.html);
        assert!(page.has(r#"href="/account""#), "the frame links the account page");

        // Made without the session's token or from another site: nothing.
        browser
            .post("/account/tokens", &[("name", "forged")], SAME_ORIGIN)
            .await
            .shows(StatusCode::FORBIDDEN, CROSS_SITE);

        let refused = browser
            .submit("/account/tokens", &[("name", "  "), ("expires_in_days", "30")])
            .await;
        refused.shows(StatusCode::BAD_REQUEST, "name must not be blank");
        assert!(refused.has(r#"value="30""#), "the form is shown again as filled");
        browser
            .submit("/account/tokens", &[("name", "bot"), ("expires_in_days", "soon")])
            .await
            .shows(StatusCode::BAD_REQUEST, "expiresInDays must be a whole number of days");

        let created = browser
            .submit("/account/tokens", &[("name", "dashboard"), ("expires_in_days", "7"), ("read_only", "true")])
            .await
            .expect(StatusCode::OK);
        let token = attribute_of(&created.html, r#"id="new-token-value""#, "value")
            .expect("the new token is shown");
        assert!(token.starts_with("trk_"), "{token}");
        assert!(created.has("Read-only") && created.has("dashboard"));

        // It works over the API as the account, read-only.
        let program = Session { token: token.clone(), ..session.clone() };
        app.get("/api/v1/users/me", &program).await.expect(StatusCode::OK);
        app.post("/api/v1/tickets", &program, json!({"body": "hi"}))
            .await
            .expect(StatusCode::FORBIDDEN);

        // Listed from then on, never shown again.
        let listed = browser.get("/account").await.expect(StatusCode::OK);
        assert!(listed.has("dashboard") && !listed.has(&token[4..]));
        let tokens = app.get("/api/v1/users/me/tokens", &session).await.expect(StatusCode::OK).data();
        let id = tokens[0]["_id"].as_str().expect("id").to_owned();

        // Another account's browser cannot revoke it.
        stranger
            .submit(&format!("/account/tokens/{id}/revoke"), &[])
            .await
            .shows(StatusCode::NOT_FOUND, "not yours to see");
        app.get("/api/v1/users/me", &program).await.expect(StatusCode::OK);

        browser
            .submit(&format!("/account/tokens/{id}/revoke"), &[])
            .await
            .redirects_to("/account?done=token-revoked#tokens");
        let after = browser.get("/account?done=token-revoked").await.expect(StatusCode::OK);
        assert!(after.has("API token revoked") && after.has(r#"id="no-tokens""#));
        app.get("/api/v1/users/me", &program).await.expect(StatusCode::UNAUTHORIZED);
    }

    /// An admin's webhooks page shows each endpoint's latest attempts, and
    /// its buttons queue a ping and a redelivery (with the same
    /// `webhook-id`); no one else gets the page or its forms.
    async fn an_admin_tests_and_redelivers_webhooks_from_their_page(app) {
        use std::collections::HashSet;
        use std::time::Duration;

        let (admin, mut browser) = user(&app, "iambenkay", Role::Admin).await;
        let endpoint = app
            .post(
                "/api/v1/webhooks",
                &admin,
                json!({"url": "https://hooks.example.com/crm", "events": ["ticket.created"]}),
            )
            .await
            .expect(StatusCode::CREATED)
            .data();
        let id = endpoint["_id"].as_str().expect("id").to_owned();
        let page = browser.get("/admin/webhooks").await.expect(StatusCode::OK);
        assert!(page.has("https://hooks.example.com/crm") && page.has("No deliveries yet."));

        browser
            .submit(&format!("/admin/webhooks/{id}/test"), &[])
            .await
            .redirects_to(&format!("/admin/webhooks?done=ping#webhook-{id}"));
        // No worker runs here: the test plays it, and the attempt fails.
        let claimed = app
            .with_store(|store| {
                store.claim_outbox(store::WEBHOOK_CHANNEL, 5, Duration::from_secs(60), &HashSet::new())
            })
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 1);
        let first = claimed[0].clone();
        app.with_store(move |store| {
            let record = store::AttemptRecord {
                at: store::now(),
                duration: Duration::from_millis(7),
                status_code: Some(503),
                error: Some("answered 503".to_owned()),
                response: None,
                succeeded: false,
                permanent: false,
            };
            store.finish_webhook_attempt(&first, &record, &domain::RetrySchedule::parse("").expect("none"))
        })
        .await
        .expect("recorded");
        let page = browser.get("/admin/webhooks").await.expect(StatusCode::OK);
        assert!(page.has("Test ping queued.") || page.has("ping"));
        assert!(page.has("answered 503") && page.has(&claimed[0].message_id));
        let attempt = app
            .get(&format!("/api/v1/webhooks/{id}/deliveries"), &admin)
            .await
            .expect(StatusCode::OK)
            .data()[0]["_id"]
            .as_str()
            .expect("id")
            .to_owned();
        assert!(page.has(&format!("redeliver-{attempt}")));
        browser
            .submit(&format!("/admin/webhooks/{id}/deliveries/{attempt}/redeliver"), &[])
            .await
            .redirects_to(&format!("/admin/webhooks?done=redelivered#webhook-{id}"));
        let again = app
            .with_store(|store| {
                store.claim_outbox(store::WEBHOOK_CHANNEL, 5, Duration::from_secs(60), &HashSet::new())
            })
            .await
            .expect("claim");
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].message_id, claimed[0].message_id, "the same webhook-id");

        let (_, mut agent) = user(&app, "benjamin", Role::SupportAgent).await;
        agent.get("/admin/webhooks").await.expect(StatusCode::FORBIDDEN);
        agent
            .submit(&format!("/admin/webhooks/{id}/test"), &[])
            .await
            .expect(StatusCode::FORBIDDEN);
    }
}

http_tests! {
    async fn addresses_are_given_at_sign_up_by_an_admin_and_on_the_account_page(app) {
        // Sign-up: optional; a bad or taken one comes back as typed.
        let browser = Browser::signed_out(&app);
        let form_page = browser.get("/signup").await;
        assert!(form_page.has(r#"name="email""#), "{}", form_page.html);
        let bad = browser
            .post("/signup", &[("username", "newbie"), ("pin", "4821"), ("email", "newbie at home")], SAME_ORIGIN)
            .await;
        bad.shows(StatusCode::BAD_REQUEST, "Email must be");
        assert!(bad.has(r#"value="newbie at home""#) && bad.has(r#"value="newbie""#), "{}", bad.html);
        let page = browser
            .post("/signup", &[("username", "newbie"), ("pin", "4821"), ("email", "Newbie@Example.com")], SAME_ORIGIN)
            .await;
        page.redirects_to("/tickets/new");
        let newbie = app.login("newbie", "4821").await.expect(StatusCode::OK).data();
        assert_eq!(newbie["email"], "newbie@example.com");
        let other = Browser::signed_out(&app);
        let taken = other
            .post("/signup", &[("username", "other"), ("pin", "4821"), ("email", "NEWBIE@example.com")], SAME_ORIGIN)
            .await;
        taken.shows(StatusCode::CONFLICT, "The email address belongs to another account.");
        assert!(taken.has(r#"value="NEWBIE@example.com""#), "{}", taken.html);

        // The account page shows, changes and clears the own address.
        let (_, mut kayode) = user(&app, "kayode", Role::Customer).await;
        let account = kayode.get("/account").await.expect(StatusCode::OK);
        assert!(account.has("You have no email address."), "{}", account.html);
        kayode
            .submit("/account/email", &[("email", "Kayode@Example.com")])
            .await
            .redirects_to("/account?done=email-changed");
        let account = kayode.get("/account?done=email-changed").await;
        account.shows(StatusCode::OK, "Email address saved.");
        assert!(account.has("<strong>kayode@example.com</strong>"), "{}", account.html);
        let refused = kayode.submit("/account/email", &[("email", "newbie@example.com")]).await;
        refused.shows(StatusCode::CONFLICT, "The email address belongs to another account.");
        assert!(refused.has(r#"value="newbie@example.com""#), "{}", refused.html);
        let malformed = kayode.submit("/account/email", &[("email", "kayode@")]).await;
        malformed.shows(StatusCode::BAD_REQUEST, "Email must be");
        assert!(malformed.has(r#"value="kayode@""#), "{}", malformed.html);
        kayode
            .submit("/account/email", &[("email", "")])
            .await
            .redirects_to("/account?done=email-changed");
        assert!(kayode.get("/account").await.has("You have no email address."));
        kayode.submit("/account/email", &[("email", "kayode@example.com")]).await;

        // The admin's form gives one; the list shows each account's.
        let (_, mut admin) = user(&app, "iambenkay", Role::Admin).await;
        admin
            .submit("/admin/users", &[("username", "newagent"), ("pin", "5678"), ("role", "SUPPORT_AGENT"), ("email", "NewAgent@Staff.example")])
            .await
            .redirects_to("/admin/users?done=user-created");
        let list = admin.get("/admin/users").await.expect(StatusCode::OK);
        for address in ["newagent@staff.example", "kayode@example.com", "newbie@example.com"] {
            assert!(list.has(&format!(r#"<span class="email">{address}</span>"#)), "{address}: {}", list.html);
        }
        let taken = admin
            .submit("/admin/users", &[("username", "another"), ("pin", "5678"), ("role", "ADMIN"), ("email", "kayode@EXAMPLE.com")])
            .await;
        taken.shows(StatusCode::CONFLICT, "The email address belongs to another account.");
        assert!(taken.has(r#"id="new-email" name="email" type="email" value="kayode@EXAMPLE.com""#), "{}", taken.html);
        assert!(taken.has(r#"value="another""#));
    }
}

http_tests! {
    /// The account page's notifications: a checkbox a kind of the
    /// account's role, saved by the form (with its token), read back by
    /// the API.
    async fn the_account_page_turns_notifications_on_and_off(app) {
        let (session, mut browser) = user(&app, "benjamin", Role::SupportAgent).await;
        let page = browser.get("/account").await.expect(StatusCode::OK);
        for kind in ["ticketCreated", "publicReply", "customerReply", "internalNote", "statusChanged", "assigned", "slaBreached"] {
            assert!(page.has(&format!("id=\"notify-{kind}\"")), "{kind}: {}", page.html);
        }
        let kept = [("ticketCreated", "on"), ("publicReply", "on"), ("customerReply", "on"), ("statusChanged", "on"), ("assigned", "on")];
        browser
            .submit("/account/notifications", &kept)
            .await
            .redirects_to("/account?done=notifications#notifications");
        let saved = app.get("/api/v1/users/me/notifications", &session).await.expect(StatusCode::OK).data();
        assert_eq!(saved["internalNote"], false);
        assert_eq!(saved["slaBreached"], false);
        assert_eq!(saved["assigned"], true);
        let page = browser.get("/account?done=notifications").await.expect(StatusCode::OK);
        assert!(page.has("Notification preferences saved."));
        assert!(!page.has("id=\"notify-internalNote\" checked"), "{}", page.html);
        // Without the form's token: refused, nothing changed.
        browser
            .post("/account/notifications", &[("internalNote", "on")], SAME_ORIGIN)
            .await
            .expect(StatusCode::FORBIDDEN);
        let after = app.get("/api/v1/users/me/notifications", &session).await.expect(StatusCode::OK).data();
        assert_eq!(after, saved);

        // A customer has three.
        let (_, customer) = user(&app, "kayode", Role::Customer).await;
        let page = customer.get("/account").await.expect(StatusCode::OK);
        assert!(page.has("id=\"notify-publicReply\""));
        assert!(!page.has("id=\"notify-internalNote\""));
    }
}
