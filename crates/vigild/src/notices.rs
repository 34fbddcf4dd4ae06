//! The station's notices by e-mail ([`vigil_service::notices`]): every
//! `notify_every_s` seconds, each user with an address who has something
//! new waiting for them is sent one notice through the SMTP server the
//! configuration names (`smtp`). A notice is audited once sent; one that
//! fails is logged and tried again at the next round (nothing is recorded
//! for it, so nobody is counted as told who was not).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lettre::message::header::ContentType;
use lettre::{Message, SmtpTransport, Transport};
use vigil_service::notices::{self, Notice};
use vigil_service::Stations;

/// Where and how notices are sent.
#[derive(Debug, Clone)]
pub struct Mailer {
    transport: SmtpTransport,
    server: String,
    from: lettre::message::Mailbox,
    desk: Option<String>,
}

impl Mailer {
    /// From the configuration's `smtp` (`host:port`, checked), sender and
    /// desk address.
    pub fn new(smtp: &str, from: Option<&str>, desk: Option<&str>) -> anyhow::Result<Self> {
        let (host, port) = smtp
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.to_owned(), p.parse().ok()?)))
            .with_context(|| format!("smtp = {smtp:?} is not HOST:PORT"))?;
        let from = match from {
            Some(f) => f.to_owned(),
            None => format!(
                "vigil@{}",
                rustix::system::uname().nodename().to_string_lossy()
            ),
        };
        let from = from
            .parse::<lettre::message::Mailbox>()
            .with_context(|| format!("smtp_from = {from:?} is not a mail address"))?;
        let transport = SmtpTransport::builder_dangerous(&host)
            .port(port)
            .timeout(Some(Duration::from_secs(30)))
            .build();
        Ok(Self {
            transport,
            server: smtp.to_owned(),
            from,
            desk: desk.map(str::to_owned),
        })
    }

    fn send(&self, n: &Notice) -> anyhow::Result<()> {
        let (subject, body) = notices::mail(n, self.desk.as_deref());
        let message = Message::builder()
            .from(self.from.clone())
            .to(n
                .email
                .parse()
                .with_context(|| format!("{}'s address {:?}", n.user, n.email))?)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)?;
        self.transport
            .send(&message)
            .with_context(|| format!("sending through {}", self.server))?;
        Ok(())
    }
}

/// Looks at what waits every `every` and sends the notices due, off the
/// reactor; runs until vigild stops.
pub fn start(stations: Arc<Stations>, mailer: Mailer, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let (s, m) = (Arc::clone(&stations), mailer.clone());
            match tokio::task::spawn_blocking(move || round(&s, &m)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(sent)) => tracing::info!(sent, "notices sent"),
                Ok(Err(e)) => {
                    tracing::warn!(error = %format!("{e:#}"), "notices not sent; tried again next round")
                }
                Err(e) => tracing::warn!(error = %e, "the notice round failed"),
            }
        }
    });
}

/// One round: every notice due, sent and recorded; the first failure to
/// send ends the round (the server is likely down for all of them).
fn round(stations: &Arc<Stations>, mailer: &Mailer) -> anyhow::Result<usize> {
    let mut station = stations.lend()?;
    let due = notices::due(&station)?;
    let mut sent = 0;
    for n in &due {
        mailer.send(n)?;
        notices::sent(&mut station, crate::workers::ACTOR, n)?;
        sent += 1;
    }
    Ok(sent)
}
