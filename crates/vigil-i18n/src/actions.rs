//! The audit log's actions in words: each action code the station writes
//! (`clip.viewed`, `gap.explained`, ...) with what it means in both
//! languages, for the audit trail people read (R20). The code stays the
//! record; these are how it is shown.

use crate::Lang;

/// (code, English, Chinese), in the order of the domains.
const ACTIONS: &[(&str, &str, &str)] = &[
    // Recordings.
    ("clip.ingested", "Recording stored", "记录已入库"),
    ("clip.viewed", "Recording page opened", "查看记录页面"),
    ("clip.played", "Recording played", "播放记录"),
    ("clip.downloaded", "Original downloaded", "下载原始文件"),
    ("clip.exported", "Recording exported", "导出记录"),
    ("clip.tagged", "Recording tagged", "标注记录"),
    (
        "clip.retention_class",
        "Retention class set",
        "设置保存类别",
    ),
    ("clip.held", "Hold placed", "设置保全"),
    ("clip.hold_released", "Hold released", "解除保全"),
    ("clip.confidential", "Confidentiality set", "设置密级"),
    (
        "clip.purged",
        "Recording deleted at end of retention",
        "保存期满删除记录",
    ),
    ("clips.listed", "Recordings listed", "浏览记录列表"),
    // Interruptions.
    ("gap.detected", "Interruption found", "发现中断"),
    ("gap.explained", "Interruption explained", "说明中断"),
    ("explanation.signed", "Explanation co-signed", "会签说明"),
    ("gap.reviewed", "Explanation reviewed", "审核说明"),
    ("gaps.listed", "Interruptions listed", "浏览中断列表"),
    // Ingest and recorders.
    ("ingest.started", "Ingest started", "开始导入"),
    ("ingest.finished", "Ingest finished", "导入完成"),
    ("ingest.interrupted", "Ingest interrupted", "导入中断"),
    ("ingest.file_retried", "File read again", "重新读取文件"),
    (
        "recorder.erase_requested",
        "Recorder erase requested",
        "请求清除记录仪",
    ),
    (
        "recorder.file_erased",
        "File erased on the recorder",
        "记录仪文件已清除",
    ),
    (
        "recorder.erase_refused",
        "Recorder erase refused",
        "拒绝清除记录仪",
    ),
    (
        "recorder.erase_unconfirmed",
        "Recorder erase not confirmed",
        "记录仪清除未确认",
    ),
    ("device.registered", "Recorder registered", "登记记录仪"),
    (
        "device.bound",
        "Recorder assigned to an officer",
        "记录仪配发给执法人员",
    ),
    ("device.docked", "Recorder docked", "记录仪接入"),
    (
        "device.unknown",
        "Unknown recorder docked",
        "接入未登记的记录仪",
    ),
    (
        "device.clock_untrusted",
        "Recorder clock not trusted",
        "记录仪时钟不可信",
    ),
    ("dock.enrolled", "Dock enrolled", "登记采集底座"),
    ("dock.refused", "Dock refused", "拒绝采集底座"),
    (
        "dock.erased",
        "Dock erased the recorder",
        "底座已清除记录仪",
    ),
    ("officer.registered", "Officer registered", "登记执法人员"),
    // Custody.
    ("case.filed", "Case filed", "案件归档"),
    ("case.closed", "Case closed", "案件办结"),
    ("request.created", "Retrieval requested", "提出调取申请"),
    ("request.approved", "Retrieval approved", "批准调取申请"),
    ("request.rejected", "Retrieval rejected", "驳回调取申请"),
    ("request.exported", "Package exported", "导出调取包"),
    (
        "requests.listed",
        "Retrieval requests listed",
        "浏览调取申请",
    ),
    ("purge.proposed", "Deletion proposed", "提出删除"),
    ("purge.approved", "Deletion approved", "批准删除"),
    ("purge.cancelled", "Deletion cancelled", "取消删除"),
    ("spotcheck.drawn", "Spot check drawn", "抽查抽取"),
    ("spotcheck.reviewed", "Spot check finding", "抽查结论"),
    // People and the station.
    ("user.added", "User added", "添加用户"),
    ("user.password_set", "Password set", "设置密码"),
    ("user.email_set", "E-mail address set", "设置电子邮箱"),
    ("user.notified", "Notice e-mailed", "已发送待办通知邮件"),
    ("session.login", "Signed in", "登录"),
    ("session.logout", "Signed out", "退出登录"),
    ("session.login_failed", "Sign-in failed", "登录失败"),
    (
        "session.locked_out",
        "Locked out after failed sign-ins",
        "多次登录失败被锁定",
    ),
    ("desk.home", "Queues opened", "查看待办"),
    ("report.read", "Report read", "查看报表"),
    ("audit.read", "Audit log read", "查看审计日志"),
    ("store.verified", "Store verified", "校验存储"),
];

/// `code` in words in `lang`, when the catalogue knows it.
pub fn action(code: &str, lang: Lang) -> Option<&'static str> {
    ACTIONS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, en, zh)| match lang {
            Lang::En => *en,
            Lang::ZhCn => *zh,
        })
}

/// `code` in words in `lang`, or the code itself when the catalogue does
/// not know it.
pub fn said(code: &str, lang: Lang) -> String {
    action(code, lang).map_or_else(|| code.to_owned(), str::to_owned)
}

/// Every action the catalogue knows: (code, words in `lang`), for a filter's
/// choices.
pub fn actions(lang: Lang) -> impl Iterator<Item = (&'static str, &'static str)> {
    ACTIONS.iter().map(move |(c, en, zh)| {
        (
            *c,
            match lang {
                Lang::En => *en,
                Lang::ZhCn => *zh,
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once() {
        let mut codes: Vec<&str> = ACTIONS.iter().map(|a| a.0).collect();
        codes.sort_unstable();
        let n = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), n, "a code listed twice");
    }

    #[test]
    fn known_and_unknown_codes() {
        assert_eq!(action("clip.viewed", Lang::ZhCn), Some("查看记录页面"));
        assert_eq!(
            action("clip.viewed", Lang::En),
            Some("Recording page opened")
        );
        assert_eq!(action("clip.unheard_of", Lang::En), None);
    }
}
