//! The desk in a real browser (issue 13): Debian's Chromium, headless,
//! driven over WebDriver by chromedriver, against vigild's TLS listener.
//! An officer plays the moment a recording broke and explains it in
//! writing, a second officer co-signs in their own session, a supervisor
//! accepts one explanation and rejects another. Screenshots of each page
//! are kept in `target/desk-screens` (CI artefacts).

use std::time::Duration;

use fantoccini::{Client, Locator};
use vigil_e2e::{describe, fixtures, screens, Browser, Vigil, Vigild};

fn ok(v: &Vigil, args: &[&str]) {
    let out = v.run(args);
    assert!(out.status.success(), "vigil {args:?}: {}", describe(&out));
}

/// Starts vigild on `v`'s store with its desk on a free port; returns it
/// and the desk's base URL.
fn desk(v: &Vigil, args: &[&str]) -> (Vigild, String) {
    let logs = v.scratch("logs");
    let d = Vigild::start(
        &v.store(),
        &logs.join("vigild.log"),
        &[&["--listen", "127.0.0.1:0"], args].concat(),
    );
    d.wait_for_socket();
    let status = d.wait_for(20, "the desk listener", |s| s["desk"]["addr"].is_string());
    let base = format!("https://{}", status["desk"]["addr"].as_str().unwrap());
    (d, base)
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(screens().join(format!("{name}.png")), png).unwrap();
}

async fn login(c: &Client, base: &str, user: &str) {
    c.goto(&format!("{base}/desk/login")).await.unwrap();
    c.find(Locator::Css("input[name=user]"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Id("login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_url(&url::Url::parse(&format!("{base}/desk/")).unwrap())
        .await
        .unwrap();
}

const PASSWORD: &str = "a long desk password";

async fn number(c: &Client, script: &str) -> f64 {
    c.execute(script, vec![])
        .await
        .unwrap()
        .as_f64()
        .unwrap_or(-1.0)
}

/// Polls `script` (a number) until `pred` holds, up to 20 s.
async fn until(c: &Client, script: &str, what: &str, pred: impl Fn(f64) -> bool) -> f64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let v = number(c, script).await;
        if pred(v) {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: still {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text(c: &Client) -> String {
    c.find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[test]
fn officers_explain_and_co_sign_and_a_supervisor_reviews_in_the_browser() {
    let v = Vigil::new();
    let card = v.scratch("card");
    std::fs::copy(
        fixtures().join("continuity/hole_av.mp4"),
        card.join("REC_0100.MP4"),
    )
    .unwrap();
    ok(&v, &["officers", "add", "1002", "--name", "张三"]);
    ok(&v, &["officers", "add", "1003", "--name", "李四"]);
    ok(
        &v,
        &[
            "ingest",
            card.to_str().unwrap(),
            "--device",
            "BWC002",
            "--officer",
            "1002",
        ],
    );
    for (user, role, officer) in [
        ("zhang", "officer", Some("1002")),
        ("li", "officer", Some("1003")),
        ("sam", "supervisor", None),
    ] {
        let mut args = vec!["user", "add", user, "--role", role];
        if let Some(o) = officer {
            args.extend(["--officer", o]);
        }
        ok(&v, &args);
        v.passwd(user, PASSWORD);
    }
    let (d, base) = desk(&v, &["--timezone", "Asia/Shanghai"]);
    let gaps = v.json(&["gaps", "--json"]);
    let gap_ids: Vec<String> = gaps["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        gap_ids.len(),
        2,
        "hole_av.mp4 has a hole in its video and its audio: {gaps:#}"
    );
    let browser = Browser::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // The officer, in Chinese: their queue, then the recording.
        let zhang = browser.session("zh-CN").await;
        login(&zhang, &base, "zhang").await;
        let home = text(&zhang).await;
        assert!(
            home.contains("我的未说明中断") && home.contains("REC_0100.MP4"),
            "{home}"
        );
        assert!(
            home.contains("张三 (1002)"),
            "officer names, not ids: {home}"
        );
        shot(&zhang, "officer-home-zh").await;
        zhang
            .find(Locator::Css("#open a"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        zhang
            .wait()
            .for_element(Locator::Id("player"))
            .await
            .unwrap();
        let page = text(&zhang).await;
        assert!(
            page.contains("记录内中断") && page.contains("于 3.0 秒处，持续 2.0 秒（视频）")
                || page.contains("于 3.0 秒处，持续 2.0 秒 (视频)"),
            "{page}"
        );
        // Local time: the recording's start in Beijing time, with its offset.
        assert!(page.contains("+08:00"), "{page}");
        let local_start = page
            .lines()
            .find(|l| l.contains("+08:00"))
            .and_then(|l| {
                l.split_whitespace()
                    .find(|w| w.len() == 10 && w.starts_with("20"))
            })
            .expect("a local date on the page")
            .to_owned();
        until(
            &zhang,
            "return document.getElementById('player').readyState",
            "the video loads",
            |r| r >= 2.0,
        )
        .await;
        zhang
            .execute("window.scrollTo(0, 0)", vec![])
            .await
            .unwrap();
        shot(&zhang, "clip-zh").await;
        // A click on the mark seeks to just before the interruption and
        // plays on past it.
        let marks = zhang.find_all(Locator::Css("a.mark")).await.unwrap();
        assert_eq!(marks.len(), 1, "both streams break at one place: one mark");
        let seek: f64 = marks[0]
            .attr("data-seek")
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        marks[0].clone().click().await.unwrap();
        let t = until(
            &zhang,
            "return document.getElementById('player').currentTime",
            "the player plays past the mark",
            |t| t > 3.2,
        )
        .await;
        assert!(seek < 3.0 && t > seek, "seek {seek}, now {t}");
        // A written explanation for each interruption.
        for (gap, why) in gap_ids.iter().zip(["电池更换，记录中断", "设备故障"]) {
            let form = zhang
                .find(Locator::Css(&format!("#gap-{gap} form.explain")))
                .await
                .unwrap();
            form.find(Locator::Css("textarea"))
                .await
                .unwrap()
                .send_keys(why)
                .await
                .unwrap();
            form.find(Locator::Css("button"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            zhang
                .wait()
                .for_element(Locator::Css(&format!("#gap-{gap} .explanation")))
                .await
                .unwrap();
        }
        let page = text(&zhang).await;
        assert!(
            page.contains("电池更换，记录中断") && page.contains("待第二人签名"),
            "{page}"
        );
        shot(&zhang, "clip-explained-zh").await;
        zhang.close().await.unwrap();

        // The second officer, in English, in their own session: co-signs.
        let li = browser.session("en").await;
        login(&li, &base, "li").await;
        let home = text(&li).await;
        assert!(
            home.contains("Explanations waiting for my signature"),
            "{home}"
        );
        shot(&li, "second-officer-home-en").await;
        li.find(Locator::Css("#to-sign a"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        li.wait().for_element(Locator::Id("player")).await.unwrap();
        for left in [1.0, 0.0] {
            li.find(Locator::Css("button.sign"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            until(
                &li,
                "return document.querySelectorAll('button.sign').length",
                "the signature lands",
                |n| n == left,
            )
            .await;
        }
        let page = text(&li).await;
        assert!(
            page.contains("zhang (1002)") && page.contains("li (1003)"),
            "{page}"
        );
        assert!(!page.contains("waiting for a second signature"), "{page}");
        li.close().await.unwrap();

        // The supervisor accepts one and rejects the other.
        let sam = browser.session("zh-CN").await;
        login(&sam, &base, "sam").await;
        let home = text(&sam).await;
        assert!(home.contains("待审核的说明"), "{home}");
        sam.find(Locator::Css("#to-review a"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        sam.wait().for_element(Locator::Id("player")).await.unwrap();
        for (gap, button) in gap_ids.iter().zip(["accept", "reject"]) {
            let form = sam
                .find(Locator::Css(&format!("#gap-{gap} form.review")))
                .await
                .unwrap();
            form.find(Locator::Css("input[name=note]"))
                .await
                .unwrap()
                .send_keys("核实")
                .await
                .unwrap();
            form.find(Locator::Css(&format!("button.{button}")))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            sam.wait()
                .for_element(Locator::Css(&format!("#gap-{gap} p.review")))
                .await
                .unwrap();
        }
        let page = text(&sam).await;
        assert!(
            page.contains("sam 审核：通过") && page.contains("sam 审核：退回"),
            "{page}"
        );
        shot(&sam, "clip-reviewed-zh").await;
        // The day's ingest report in Chinese, printed by the browser to A4.
        sam.goto(&format!("{base}/desk/reports")).await.unwrap();
        shot(&sam, "reports-zh").await;
        sam.find(Locator::Id("show-report"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        sam.wait()
            .for_element(Locator::Css("body.report"))
            .await
            .unwrap();
        shot(&sam, "report-ingest-zh").await;
        let pdf = sam
            .print(
                fantoccini::wd::PrintConfiguration::builder()
                    .orientation(fantoccini::wd::PrintOrientation::Landscape)
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        let pdf_path = screens().join("report-ingest-zh.pdf");
        std::fs::write(&pdf_path, &pdf).unwrap();
        let text = std::process::Command::new("pdftotext")
            .args(["-layout"])
            .arg(&pdf_path)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils; cargo xtask test installs it)");
        let text = String::from_utf8_lossy(&text.stdout).into_owned();
        for want in [
            "音视频记录导入报告",
            "张三 (1002)",
            "电池更换，记录中断",
            "设备故障",
            "+08:00",
            "制表人（证据管理员）签名",
            "审计日志检查点",
        ] {
            assert!(
                text.contains(want),
                "the printed report lacks {want:?}:\n{text}"
            );
        }
        // The recording's local start, as the clip page showed it.
        assert!(
            text.contains(&local_start),
            "printed local time {local_start:?}:\n{text}"
        );
        sam.close().await.unwrap();
    });
    // The store says the same: one explained, one reopened by the rejection.
    let after = v.json(&["gaps", "--json"]);
    let status: Vec<&str> = gap_ids
        .iter()
        .map(|id| {
            after["gaps"]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["id"] == id.as_str())
                .unwrap()["status"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(status, ["explained", "open"], "{after:#}");
    let audit = v.json(&["audit", "--json", "--action", "clip.viewed"]);
    assert!(
        audit["audit"].as_array().unwrap().len() >= 3,
        "each page view is on the record"
    );
    drop(d);
}

#[test]
fn the_desk_refuses_forged_forms_and_its_cookie_opens_no_api() {
    let v = Vigil::new();
    ok(&v, &["officers", "add", "1002"]);
    ok(
        &v,
        &[
            "user",
            "add",
            "zhang",
            "--role",
            "officer",
            "--officer",
            "1002",
        ],
    );
    v.passwd("zhang", PASSWORD);
    let (d, base) = desk(&v, &[]);
    let http = reqwest::blocking::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(format!("{base}/desk/login"))
        .form(&[("user", "zhang"), ("password", PASSWORD)])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let session = cookie.split(';').next().unwrap().to_owned();
    let page = http
        .get(format!("{base}/desk/"))
        .header("cookie", &session)
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    // A form without the session's CSRF token is refused; so is one with
    // another session's.
    for token in ["", "0000"] {
        let r = http
            .post(format!("{base}/desk/gaps/gnone/explain"))
            .header("cookie", &session)
            .form(&[("csrf", token), ("text", "forged")])
            .send()
            .unwrap();
        assert_eq!(r.status(), 403, "csrf {token:?}");
    }
    // The cookie opens no API route: those take a bearer token only.
    let r = http
        .get(format!("{base}/api/v1/whoami"))
        .header("cookie", &session)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    // Pages need a session; a return path never leaves the desk.
    let r = http.get(format!("{base}/desk/clips")).send().unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/desk/login");
    let r = http
        .get(format!("{base}/desk/lang/zh-CN?back=https://evil.example/"))
        .send()
        .unwrap();
    assert_eq!(r.headers()["location"], "/desk/");
    drop(d);
}
