//! The catalogue: every label and message of the desk in both languages,
//! side by side. A `{name}` in a text is filled by [`Msg::fmt`].

use crate::Lang;

macro_rules! catalogue {
    ($($key:ident => $en:literal, $zh:literal;)*) => {
        /// A label or message people read.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum Msg { $($key),* }

        impl Msg {
            /// Every message (for checks over the whole catalogue).
            pub const ALL: &'static [Msg] = &[$(Msg::$key),*];

            /// The text in `lang`.
            pub fn text(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((Msg::$key, Lang::En) => $en, (Msg::$key, Lang::ZhCn) => $zh,)*
                }
            }
        }
    };
}

catalogue! {
    AppName => "Vigil desk", "Vigil 执法记录工作台";
    Login => "Log in", "登录";
    Logout => "Log out", "退出";
    UserName => "User name", "用户名";
    Password => "Password", "密码";
    LoginFailed => "The user name or password is wrong, or the account is locked for a while.", "用户名或密码错误，或账户已暂时锁定。";
    SignedInAs => "Signed in as {user} ({role})", "当前用户：{user}（{role}）";
    Language => "Language", "语言";
    TimesIn => "Times are shown in {zone}.", "时间均按 {zone} 显示。";
    Home => "My work", "我的待办";
    Clips => "Recordings", "音视频记录";
    Interruptions => "Interruptions", "中断";
    Reports => "Reports", "报表";
    ShowReport => "Show the report", "生成报表";
    ReportsHelp => "Dates are local dates of the station; the report opens as a page to print (A4).", "日期按工作站本地日期；报表以可打印页面打开（A4）。";
    RoleOfficer => "officer", "执法人员";
    RoleCustodian => "evidence custodian", "证据管理员";
    RoleAuditor => "auditor", "审计人员";
    RoleSupervisor => "supervisor", "法制审核人员";
    RoleAdmin => "administrator", "系统管理员";
    QueueOpen => "My open interruptions", "我的未说明中断";
    QueueToSign => "Explanations waiting for my signature", "待我签名的说明";
    QueueUntagged => "My untagged recordings", "我未标注的记录";
    QueueToReview => "Explanations to review", "待审核的说明";
    QueueOverdue => "Overdue", "已超期";
    QueueToday => "Ingested today", "今日导入";
    QueueGapLog => "Interruption log", "中断记录";
    Nothing => "Nothing here.", "暂无。";
    Officer => "Officer", "执法人员";
    Recorder => "Recorder", "记录仪";
    Start => "Start", "开始时间";
    Duration => "Duration", "时长";
    Where => "Where", "位置";
    Ingested => "Ingested", "导入时间";
    Status => "Status", "状态";
    Case => "Case", "案件编号";
    Site => "Site", "地点";
    Category => "Category", "类别";
    File => "File", "文件";
    Filter => "Filter", "筛选";
    From => "From", "自";
    Until => "Until", "至";
    Any => "any", "全部";
    Previous => "Previous", "上一页";
    Next => "Next", "下一页";
    PageOf => "Page {page}", "第 {page} 页";
    StatusOk => "complete", "完整";
    StatusDamaged => "damaged", "已损坏";
    StatusLate => "late", "逾期导入";
    StatusUntagged => "untagged", "未标注";
    StatusOpenGap => "open interruption", "有未说明中断";
    Recording => "Recording", "记录";
    Timeline => "Timeline of the recording", "记录时间轴";
    TimelineHelp => "Each red mark is an interruption: click it to play from just before it.", "红色标记为中断：点击即从中断前开始播放。";
    PlayBefore => "Play from just before it", "从中断前开始播放";
    Download => "Download the original", "下载原始文件";
    Original => "The original file, byte for byte as stored", "与存储一致的原始文件";
    NotPlayable => "This browser cannot play this recording's format; download the original to view it.", "浏览器无法播放此格式；请下载原始文件查看。";
    Hashes => "Hashes", "哈希值";
    Bytes => "Size", "大小";
    Interruption => "Interruption", "中断";
    At => "at {at} s, for {for} s", "于 {at} 秒处，持续 {for} 秒";
    Between => "between recordings, {for} s", "两段记录之间，{for} 秒";
    StreamVideo => "video", "视频";
    StreamAudio => "sound", "音频";
    KindWithinClip => "hole in the recording", "记录内中断";
    KindBetweenClips => "pause between recordings", "两段记录之间的中断";
    KindMissingFile => "missing file", "文件缺失";
    KindRestart => "recorder restarted", "记录仪重启";
    KindStreamStopped => "a stream stopped early", "音频或视频提前停止";
    KindEditListCut => "cut by the file's edit list", "文件编辑列表剪切";
    GapOpen => "needs an explanation", "待说明";
    GapAwaiting => "waiting for a second signature", "待第二人签名";
    GapExplained => "explained", "已说明";
    Explanation => "Explanation", "说明";
    ExplainWritten => "Explain in writing", "书面说明";
    ExplainHelp => "Say why recording was interrupted. A second officer signs it in their own session.", "说明记录中断的原因。需另一名执法人员在其本人登录后签名。";
    Submit => "File the explanation", "提交说明";
    SignIt => "Sign this explanation", "签名确认此说明";
    SignedBy => "Signed by", "签名人";
    FiledBy => "Filed by {who} at {at}", "由 {who} 于 {at} 提交";
    Review => "Review", "审核";
    Accept => "Accept", "通过";
    Reject => "Reject", "退回";
    ReviewNote => "Note (why)", "审核意见";
    ReviewedBy => "Reviewed by {who}: {verdict}", "{who} 审核：{verdict}";
    VerdictAccepted => "accepted", "通过";
    VerdictRejected => "rejected", "退回";
    History => "History", "历史";
    Back => "Back", "返回";
    Refused => "Not allowed", "无权操作";
    NotFound => "Not found", "未找到";
    FormExpired => "This form has expired: reload the page and try again.", "表单已过期：请刷新页面后重试。";
    Done => "Done.", "已完成。";
    ReportIngest => "Ingest report", "音视频记录导入报告";
    ReportGaps => "Interruption log", "记录中断登记表";
    ReportStats => "Statistics", "统计";
    Station => "Station", "工作站";
    Period => "Period", "统计时段";
    MadeBy => "Made by", "制表人";
    MadeAt => "Made at", "制表时间";
    TimeZone => "Time zone", "时区";
    Totals => "Totals", "合计";
    PerOfficer => "Per officer and recorder", "按执法人员和记录仪";
    PerUnit => "Per unit", "按单位";
    Unit => "Unit", "单位";
    HoursRecorded => "Hours recorded", "记录时长（小时）";
    LateCount => "Late", "逾期导入";
    DamagedCount => "Damaged", "损坏";
    OpenCount => "Open interruptions", "未说明中断";
    ExplainedCount => "Explained", "已说明";
    ClockDrift => "Clock drift", "时钟偏差";
    Battery => "Battery", "电量";
    Faults => "Faults", "故障";
    PerHour => "Interruptions per hour", "每小时中断次数";
    LateRate => "Late ingests", "逾期导入比例";
    MeanHours => "Mean hours to explain", "平均说明用时（小时）";
    OfficerTimeline => "Officer {officer}: timeline", "执法人员 {officer}：时间轴";
    Legend => "Blue: recorded; orange: damaged file; red: interruption.", "蓝色：已记录；橙色：文件损坏；红色：中断。";
    SignPrepared => "Prepared by (evidence custodian)", "制表人（证据管理员）签名";
    SignReviewed => "Reviewed by (supervisor)", "审核人（法制审核人员）签名";
    Date => "Date", "日期";
    CheckpointTitle => "Audit log checkpoint", "审计日志检查点";
    CheckpointIntro => "The station's signed checkpoint of its audit log when this report was made; check later that the log still holds it with `vigil checkpoint verify` (station key {key}).", "本报告生成时工作站对审计日志签署的检查点；日后可用 `vigil checkpoint verify` 核验日志未被改写（工作站公钥 {key}）。";
    Signers => "Signed by", "签名人";
    ReviewedByCol => "Reviewed by", "审核";
    Spoken => "spoken in the recording at {at} s", "于记录第 {at} 秒处口头说明";
    OverdueMark => "overdue", "已超期";
}

impl Msg {
    /// The text in `lang` with each `{name}` replaced by its value.
    pub fn fmt(self, lang: Lang, args: &[(&str, &str)]) -> String {
        let mut out = self.text(lang).to_owned();
        for (k, v) in args {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_has_both_languages_and_the_same_placeholders() {
        for m in Msg::ALL {
            let (en, zh) = (m.text(Lang::En), m.text(Lang::ZhCn));
            assert!(!en.is_empty() && !zh.is_empty(), "{m:?}");
            let holes = |s: &str| {
                let mut v: Vec<String> = s
                    .split('{')
                    .skip(1)
                    .filter_map(|p| p.split_once('}').map(|(k, _)| k.to_owned()))
                    .collect();
                v.sort();
                v
            };
            assert_eq!(holes(en), holes(zh), "{m:?}");
        }
        assert_eq!(
            Msg::SignedInAs.fmt(Lang::ZhCn, &[("user", "张三"), ("role", "执法人员")]),
            "当前用户：张三（执法人员）"
        );
    }
}
