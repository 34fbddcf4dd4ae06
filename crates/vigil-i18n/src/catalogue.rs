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
    TimesIn => "Times are shown in {zone}.", "时间均按{zone}显示。";
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
    QueueOpen => "Interruptions to explain", "待我说明的中断";
    QueueToSign => "Explanations waiting for my signature", "待我签名的说明";
    QueueUntagged => "Recordings to tag", "待我标注的记录";
    QueueToReview => "Explanations to review", "待审核的说明";
    QueueOverdue => "Overdue", "已超期";
    WaitingNone => "Nothing waits for you", "暂无待办";
    NoticeSubject => "Vigil: {n} waiting for you", "Vigil：{n} 项待办";
    NoticeHello => "{user}, {new} new item(s) wait for you at the station:", "{user}，工作站有 {new} 项新的待办：";
    NoticeDesk => "Open the desk: {url}", "打开工作台：{url}";
    WaitingSome => "{n} waiting for you: {what}", "{n} 项待办：{what}";
    WaitingPart => "{what} {n}", "{what} {n} 项";
    ListSeparator => "; ", "；";
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
    DateFormat => "YYYY-MM-DD", "年-月-日";
    Any => "any", "全部";
    Previous => "Previous", "上一页";
    Next => "Next", "下一页";
    PageOf => "Page {page}", "第 {page} 页";
    StatusOk => "complete", "完整";
    StatusDamaged => "damaged", "已损坏";
    StatusLate => "late", "逾期导入";
    TroubledFiles => "Late and damaged files", "逾期导入与损坏的文件";
    Print => "Print", "打印";
    StatusUntagged => "untagged", "未标注";
    StatusOpenGap => "open interruption", "有未说明中断";
    Recording => "Recording", "记录";
    Timeline => "Timeline of the recording", "记录时间轴";
    TimelineHelp => "Each red mark is an interruption: click it to play from just before it.", "红色标记为中断：点击即从中断前开始播放。";
    PlayBefore => "Play from just before it", "从中断前开始播放";
    PlayAcross => "Play across the interruption", "跨中断连续播放";
    TrackTitle => "Where it was recorded (GPS track)", "录制位置（GPS 轨迹）";
    TrackHelp => "The dot follows the player. Drawn from the recorder's own track, north up, without a map.", "圆点随播放位置移动。按记录仪自身轨迹绘制，上方为北，不含地图。";
    PlayAcrossHelp => "Plays the end of the recording before, then the start of the one after.", "先播放中断前记录的结尾，再播放中断后记录的开头。";
    AcrossTitle => "Across the interruption: {before} → {after}", "跨中断播放：{before} → {after}";
    EndOf => "End of {path} (last {n} s)", "{path} 的结尾（最后 {n} 秒）";
    StartOf => "Start of {path} (first {n} s)", "{path} 的开头（前 {n} 秒）";
    ExplainThere => "Explain, sign or review it on the recording's page", "在记录页面说明、签名或审核此中断";
    Download => "Download the original", "下载原始文件";
    Original => "The original file, byte for byte as stored", "与存储一致的原始文件";
    NotPlayable => "This browser cannot play this recording's format; download the original to view it.", "浏览器无法播放此格式；请下载原始文件查看。";
    Hashes => "Hashes", "哈希值";
    Bytes => "Size", "大小";
    Interruption => "Interruption", "中断";
    At => "at {at} s, for {for} s", "于 {at} 秒处，持续 {for} 秒";
    InStream => "{place} ({stream})", "{place}（{stream}）";
    NameNumber => "{name} ({id})", "{name}（{id}）";
    Between => "between recordings, {for} s", "两段记录之间，{for} 秒";
    Lasting => "{what}, {for} s", "{what}，{for} 秒";
    SecondsLong => "{n} s", "{n} 秒";
    DamagedCutOff => "cut off: the file ends before what its header describes (the recorder stopped writing it)", "文件不完整：文件在其头部所述内容之前结束（记录仪未写完）";
    DamagedCorrupt => "parts of it are corrupt and were skipped", "部分数据损坏，已跳过";
    DamagedChanged => "it changed while it was being copied", "复制过程中文件发生了变化";
    DamagedNotRecording => "not a recording: a list or playlist naming other files (nothing it names was read)", "不是录像：是指向其他文件的列表或播放列表（未读取其所指内容）";
    DamagedNotAnalysed => "not analysed in time: its continuity is unchecked", "未能按时分析：连续性未经检查";
    DamagedUnreadable => "it cannot be read as audio or video", "无法作为音视频读取";
    DamagedNoStreams => "it holds no readable picture or sound", "不含可读取的画面或声音";
    DamagedOther => "damaged", "已损坏";
    DamagedPlayable => "{s} s of it can be played. ", "其中 {s} 秒可以播放。";
    DamagedSaid => "Damaged: {what}. {playable}Technical detail (FFmpeg): {detail}", "已损坏：{what}。{playable}技术信息（FFmpeg）：{detail}";
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
    SignTitle => "Co-sign an explanation", "会签说明";
    SignWhat => "You are signing, as officer {officer}, that this explanation of this interruption is true.", "您将以执法人员 {officer} 的身份签名，确认以下对该中断的说明属实。";
    SignInterruption => "Interruption", "中断";
    SignText => "The explanation", "说明内容";
    SignFiledBy => "Filed by", "提交人";
    SignSignedSoFar => "Signed so far", "已签名";
    SignPassword => "Your password (a signature is a deliberate act)", "您的密码（签名须本人确认）";
    SignConfirm => "Sign", "确认签名";
    SignWrongPassword => "Wrong password: nothing was signed.", "密码错误：未签名。";
    QueueWaiting => "My explanations waiting for a second officer's signature", "等待另一名执法人员会签的我的说明";
    SignedBy => "Signed by", "签名人";
    FiledBy => "Filed by {who} at {at}", "由 {who} 于 {at} 提交";
    Review => "Review", "审核";
    Accept => "Accept", "通过";
    Reject => "Reject", "退回";
    ReviewNote => "Note (why)", "审核意见";
    ReviewNoteIs => "Note: {note}", "审核意见：{note}";
    ReviewedBy => "Reviewed by {who}: {verdict}", "{who} 审核：{verdict}";
    VerdictAccepted => "accepted", "通过";
    VerdictRejected => "rejected", "退回";
    History => "History", "历史";
    AuditTrail => "Audit trail", "审计记录";
    AuditTrailOf => "Audit trail of {what}", "{what}的审计记录";
    AuditAbout => "About", "对象";
    AuditDetails => "Details", "详情";
    AuditPerson => "Person (user name)", "操作人（用户名）";
    AuditSubject => "Subject (recording, interruption, request or user id)", "对象（记录、中断、调取申请或用户编号）";
    PeriodByLogged => "The period goes by when each action was recorded in the log.", "时段按操作写入审计日志的时间筛选。";
    AuditHelp => "Every action at this station is in the log, in the order it happened; the log is signed.", "本站的每项操作均按发生顺序记入审计日志，日志经签名。";
    FirstPage => "First page", "第一页";
    AuditInterruption => "Interruption at {time} in {file}", "{file} 中 {time} 的中断";
    AuditRequest => "Retrieval request {id}", "调取申请 {id}";
    AuditUser => "User {name}", "用户 {name}";
    AuditAllOfRecording => "with its interruptions", "含其中断";
    UnknownAction => "(not in the catalogue)", "（未收录的操作）";
    Back => "Back", "返回";
    Refused => "Not allowed", "无权操作";
    NotFound => "Not found", "未找到";
    Search => "Search", "搜索";
    Speed => "Speed", "播放速度";
    PlayerKeys => "Keys: space play/pause · ← → 5 s · , . one frame · j k previous/next interruption", "快捷键：空格 播放/暂停 · ← → 5 秒 · , . 逐帧 · j k 上一个/下一个中断";
    SearchHint => "officer, recorder, site, case, note or explanation", "执法人员、记录仪、地点、案件、描述或说明";
    SkipToContent => "Skip to the content", "跳到正文";
    NoSuchPage => "There is no such page on the desk.", "工作台上没有这个页面。";
    FormExpired => "This form has expired: reload the page and try again.", "表单已过期：请刷新页面后重试。";
    Done => "Done.", "已完成。";
    ReportIngest => "Ingest report", "音视频记录导入报告";
    ReportGaps => "Interruption log", "记录中断登记表";
    ReportStats => "Statistics", "统计";
    AgencyCentre => "Vigil agency centre", "Vigil 机构中心";
    AgencyGapLog => "Agency interruption log", "全机构记录中断登记表";
    AllStations => "All stations", "全部工作站";
    AgencyStats => "Agency statistics", "全机构统计";
    AgencyIngest => "Agency ingest report", "全机构导入报告";
    PerStationRecorder => "Per officer and recorder at each station", "按工作站、执法人员和记录仪";
    LastDocked => "Last docked", "最近接入";
    NotListed => "{n} more not listed: narrow the period or the station.", "另有 {n} 项未列出：请缩小时段或限定工作站。";
    ConfidentialNotShown => "{n} more are confidential and not shown to you (R17).", "另有 {n} 项属保密内容，不向您显示（R17）。";
    DayMonthOrYear => "Day, month or year", "日期、月份或年份";
    Today => "Today", "今天";
    Yesterday => "Yesterday", "昨天";
    AgencyAuditHelp => "Each station's log as the centre holds it, every entry in its station's order; the centre's witness cosigned each log, so none was rewritten.", "中心保存的各工作站日志，每条按其工作站内的顺序排列；中心见证方已联署各日志，均未被改写。";
    AgencyAudit => "Audit trail across stations", "全机构审计记录";
    AgencyRecordings => "Recordings across the agency", "全机构音视频记录";
    RecordingsNav => "Recordings", "音视频记录";
    NotHeldHere => "Not held here: {what}", "此处不保存：{what}";
    AutoReload => "Reload every 30 s", "每 30 秒自动刷新";
    CustodyLog => "Its station's log about it and its interruptions", "工作站日志中关于该记录及其中断的条目";
    PerStation => "Per station", "按工作站";
    PerStationOfficer => "Per officer at each station", "按工作站和执法人员";
    YearOrMonth => "Year or month", "年份或月份";
    ThisYear => "This year", "本年";
    LastYear => "Last year", "上年";
    NotYetExplained => "Not yet explained", "尚未说明";
    Month => "Month", "月份";
    ThisMonth => "This month", "本月";
    LastMonth => "Last month", "上月";
    StationsBoard => "Stations", "工作站";
    FromStationLog => "From {station}'s log, entry {seq}", "来自 {station} 的日志第 {seq} 条";
    StationLog => "The station's log about it", "工作站日志中的相关记录";
    TracedTo => "Source", "来源";
    BoardHelp => "Each station's last contact, what the centre holds of its log and what is still to come, the last checkpoint the centre's witness cosigned, and its interruptions not yet explained, with those past the 24 h to explain them. A station silent too long is out of touch; a flagged one presented a log that does not extend what the witness cosigned. The page reloads every 30 s unless its box is unticked.", "各工作站最近一次联络时间、中心已收到的日志条数与待报送条数、中心见证方最近联署的检查点，以及尚未说明的中断数及其中超过 24 小时仍未说明的数量。长时间未联络的工作站标为失联；被标记的工作站提交的日志不是见证方已联署日志的延续。本页每 30 秒自动刷新，取消勾选即停止。";
    LastContact => "Last contact", "最近联络";
    EntriesHeld => "Log entries at the centre", "中心已收日志条数";
    ToCome => "Still to come", "待报送";
    LastCosigned => "Last cosigned", "最近联署";
    OpenGaps => "Not yet explained", "待说明中断";
    OverdueGaps => "Of them overdue (over 24 h, R9)", "其中逾期（超过 24 小时）";
    Attention => "Attention", "需关注";
    OutOfTouch => "out of touch since {since}", "自 {since} 起失联";
    Flagged => "flagged: {why}", "已标记：{why}";
    Revoked => "revoked", "已撤销";
    Never => "never", "从未";
    CountShown => "{n} interruptions", "共 {n} 项中断";
    ShownOfTotal => "{shown} of {total} interruptions shown", "共 {total} 项中断，显示其中 {shown} 项";
    MoreThanShown => "More than {n} match: narrow the period or the station.", "符合条件的超过 {n} 项：请缩小时段或限定工作站。";
    Station => "Station", "工作站";
    Period => "Period", "统计时段";
    PeriodByInterruption => "Period (by when each interruption happened)", "统计时段（按中断发生时间）";
    PeriodByIngest => "Period (by when recordings were ingested)", "统计时段（按导入时间）";
    PeriodByRecording => "Period (by when recordings were made and interruptions happened)", "统计时段（按录制时间和中断发生时间）";
    Undated => "No usable clock (placed by ingest)", "无可用时钟（按导入时间归入）";
    BulkTagged => "Recordings tagged: {n}.", "已标注记录：{n} 条。";
    BulkSkipped => "Skipped: {n}, with no usable recording time (the dates cannot place them); open each and tag it by name:", "跳过：{n} 条，没有可用的录制时间（无法按日期归入）；请逐条打开并单独标注：";
    FoundAt => "Found at ingest", "导入时发现";
    TimeUnknown => "unknown (no usable clock): placed by when it was found", "未知（无可用时钟）：按发现时间归入";
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
    PerHour => "Interruptions per hour (given from 1 h recorded)", "每小时中断次数（录制满 1 小时才计算）";
    LateRate => "Late ingests", "逾期导入比例";
    MeanHours => "Mean hours to explain", "平均说明用时（小时）";
    OfficerTimeline => "Officer {officer}: timeline", "执法人员 {officer}：时间轴";
    Legend => "Blue: recorded; orange: damaged file; red: interruption.", "蓝色：已记录；橙色：文件损坏；红色：中断。";
    SignPrepared => "Prepared by (evidence custodian)", "制表人（证据管理员）签名";
    SignReviewed => "Reviewed by (supervisor)", "审核人（法制审核人员）签名";
    Date => "Date", "日期";
    CheckpointTitle => "Audit log checkpoint", "审计日志检查点";
    CheckpointIntro => "The station's signed checkpoint of its audit log when this report was made; check later that the log still holds it with `vigil checkpoint verify` (station key {key}).", "本报告生成时工作站对审计日志签署的检查点；日后可用 `vigil checkpoint verify` 核验日志未被改写（工作站公钥 {key}）。";
    CosignedIntro => "The newest checkpoint the agency centre's witness {witness} cosigned (the log's first {size} rows): the centre vouches that the station's log was only ever appended to up to there. Check it with `vigil checkpoint verify FILE --witness KEY`.", "机构中心见证方 {witness} 联署的最新检查点（日志前 {size} 条）：中心证明工作站日志截至该处只追加、未改写。可用 `vigil checkpoint verify 文件 --witness 见证公钥` 核验。";
    Signers => "Signed by", "签名人";
    ReviewedByCol => "Reviewed by", "审核";
    Spoken => "spoken in the recording at {at} s", "于记录第 {at} 秒处口头说明";
    OverdueMark => "overdue", "已超期";
    TagTitle => "Tag this recording", "标注此记录";
    Note => "Description", "内容描述";
    SaveTag => "Save the tag", "保存标注";
    TagHelp => "Fields left empty keep their value; every tagging is kept in the history.", "留空的项目保持原值；每次标注均留有记录。";
    Custody => "Retention and holds", "保存期限与冻结";
    RetentionClass => "Retention class", "保存类别";
    ClassOrdinary => "ordinary (2 years)", "一般（保存2年）";
    ClassEvidence => "evidence (kept with the case file)", "证据（随案卷保存）";
    ClassLongTerm => "long term", "长期保存";
    SetClass => "Set the class", "设定类别";
    Holds => "Holds", "冻结保存";
    PlaceHold => "Place a hold", "冻结保存";
    Reason => "Reason", "原因";
    HoldDispute => "the party disputes it", "当事人有异议";
    HoldComplaint => "a complaint", "投诉";
    HoldObstruction => "obstruction of enforcement", "阻碍执法";
    HoldMassIncident => "a mass incident", "群体性事件";
    HoldCompulsory => "a compulsory measure", "采取强制措施";
    Release => "Release", "解除";
    HeldSince => "{reason}, since {at} ({who})", "{reason}，自 {at} 起（{who}）";
    ReleasedAt => "released {at}", "已于 {at} 解除";
    RemovedAt => "removed under the retention policy at {at} (R13)", "已于 {at} 按保存期限规定删除";
    NotSentYet => "not known at the centre: the station has not sent it since this recording last changed", "中心尚不掌握：此记录上次变更后本站尚未报送";
    RequestTitle => "Request a copy (retrieval)", "申请调取";
    RequestReason => "Why it is needed", "调取事由";
    Outsider => "Receiving organisation (outside the agency)", "接收单位（外部）";
    FileRequest => "File the request", "提交申请";
    Requests => "Retrieval requests", "调取申请";
    Requester => "Requested by", "申请人";
    Recordings => "Recordings", "记录数";
    ReqPending => "waiting for approval", "待审批";
    ReqApproved => "approved by {who}", "已由 {who} 批准";
    ReqRejected => "turned down by {who}: {why}", "已由 {who} 退回：{why}";
    Approve => "Approve", "批准";
    RejectReason => "Reason for turning it down", "退回理由";
    TurnDown => "Turn down", "退回";
    RequestTitle1 => "Retrieval request {id}", "调取申请 {id}";
    ReleaseTitle => "What it would release: {n} recording(s)", "将要调取的内容：{n} 条记录";
    ReleaseHidden => "{n} more recording(s) in this request are confidential and not shown to you (R17).", "本申请另有 {n} 条记录属保密内容，不向您显示（R17）。";
    ReleaseConfirm => "I have checked the recordings listed above and release them to {to}.", "我已核对上列记录，同意调取给{to}。";
    ReleaseNobody => "the requester", "申请人";
    ReviewAndDecide => "Check and decide", "核对并审批";
    ViewRequest => "Open", "打开";
    DownloadPackage => "Download the package (tar)", "下载证据包（tar）";
    DownloadIso => "Download as a disc image (ISO)", "下载光盘映像（ISO）";
    PackageHelp => "The package holds the originals, both manifests, the custody trail with its proofs and the log checkpoint; check it with `vigil verify-export`.", "证据包含原始文件、两份清单、带证明的保管记录和日志检查点；可用 `vigil verify-export` 核验。";
    Tagging => "Tagging and cases", "标注与案件";
    BulkTag => "Tag many recordings", "批量标注";
    BulkHelp => "Every recording of the officer that starts in the period (local dates) gets these fields; fields left empty keep their value.", "该执法人员在所选时段（本地日期）内开始的全部记录将设置以下内容；留空的项目保持原值。";
    Cases => "Cases", "案件";
    CaseClosed => "Closed on", "结案日期";
    CaseFiled => "Filed on", "归档日期";
    RecordCase => "Record", "登记";
    ExplainSpoken => "Explained aloud in the recording", "在记录中口头说明";
    SpokenAt => "Where it is spoken (seconds into the recording)", "口头说明的位置（记录第几秒）";
    UsePlayer => "Use the player's position", "取播放器当前位置";
    SubmitSpoken => "File the spoken explanation", "提交口头说明";
    SpokenHelp => "Play the recording to where you explain the interruption aloud; the station checks that sound is there.", "将记录播放到口头说明中断原因处；工作站会核验该处有声音。";
    StationStatus => "Station status", "工作站状态";
    Dock => "Dock", "底座";
    Slot => "Slot", "槽位";
    Progress => "Progress", "进度";
    State => "State", "状态";
    LiveHelp => "This page updates by itself.", "本页自动更新。";
    NoDocks => "No recorder is docked.", "当前无记录仪接入。";
    DocksTitle => "Docks", "采集底座";
    RecordersTitle => "Recorders", "记录仪";
    DockPath => "Device", "设备";
    DockConnected => "connected since {at}", "已连接（自 {at}）";
    DockLost => "LOST since {at}: its device is gone (unplugged, or failed)", "自 {at} 起失联：设备已不在（被拔出或故障）";
    DockCannotConnect => "cannot connect: {error}", "无法连接：{error}";
    NoDocksSeen => "No dock has been connected since the station started.", "工作站启动以来尚无采集底座连接。";
    StoreTitle => "Store", "存储";
    LastIngest => "Last ingest", "最近一次导入";
    NoIngestYet => "none yet", "尚无";
    FreeSpace => "Free space", "可用空间";
    DaysLeft => "Days left at the last 7 days' pace", "按近 7 天的导入量可用天数";
    DaysLeftValue => "about {n} days ({rate} a day)", "约 {n} 天（每天 {rate}）";
    DaysLeftMany => "more than ten years ({rate} a day)", "十年以上（每天 {rate}）";
    NoPace => "no ingest in the last 7 days", "近 7 天无导入";
    StoreFullNow => "FULL: the station takes no data and erases no recorder until space is freed.", "存储已满：腾出空间之前，工作站不接收数据，也不清除记录仪。";
    Updated => "Updated {at}", "更新于 {at}";
    Preview => "Preview, transcoded for the browser: not the evidence. The original is below.", "浏览器预览（已转码，非原始证据）。原始文件见下方。";
    Requested => "Requested", "申请时间";
    QueueToApprove => "Retrieval requests to decide", "待审批的调取申请";
    QueueAudit => "Audit log, newest first", "审计日志（最新在前）";
    QueueCheckpoint => "The log's signed checkpoint", "审计日志签名检查点";
    When => "When", "时间";
    Seq => "#", "序号";
    Who => "Who", "操作人";
    Action => "Action", "操作";
    Subject => "About", "对象";
    LogSize => "Rows", "条数";
    Root => "Root hash", "根哈希";
    StationKey => "Station key", "工作站公钥";
    CheckpointMeaning => "Every action at this station is written to the audit log. The station signs a checkpoint of the log: how many rows it had and one hash over all of them, signed with the station's key. Save a copy outside the station now; check it here later. If any row up to it was changed or removed since, the check says no.", "本站的每项操作都写入审计日志。工作站对日志签署检查点：当时的记录条数和覆盖全部记录的一个哈希值，用工作站密钥签名。请现在把一份副本保存在工作站之外，日后在此核对。若此后其涵盖的任何记录被修改或删除，核对结果为“否”。";
    CheckpointSignedAt => "Signed at", "签名时间";
    SaveCheckpoint => "Save this checkpoint", "保存此检查点";
    CheckKeptTitle => "Check a checkpoint you kept", "核对您保存的检查点";
    CheckKeptText => "The saved checkpoint (paste its text or choose its file)", "保存的检查点（粘贴文本或选择文件）";
    CheckKeptFile => "Saved file", "保存的文件";
    CheckIt => "Check", "核对";
    CheckHolds => "Yes: the log today still holds this checkpoint ({size} rows, signed by this station); none of those rows was changed or removed since.", "是：今天的日志仍包含此检查点（{size} 条，由本站签名），此后其中没有任何记录被修改或删除。";
    CheckFails => "No: {why}", "否：{why}";
    FailNotACheckpoint => "this is not a signed checkpoint.", "这不是经签名的检查点。";
    FailOtherKey => "it was not signed by this station's key.", "它不是用本站密钥签名的。";
    FailLogShorter => "the log is shorter than the checkpoint: rows were removed after it was signed.", "日志比检查点短：签名之后有记录被删除。";
    FailRewritten => "the log's rows up to the checkpoint were changed after it was signed.", "签名之后，检查点涵盖的日志记录被修改过。";
    FailTampered => "the log's rows no longer match their hash tree: the log was edited outside Vigil.", "日志记录与其哈希树不再一致：日志在 Vigil 之外被修改过。";
    CheckSelfNote => "This check is made by the station itself. The check that does not rest on the station is made on another computer with the station key you keep (operations guide: what an auditor keeps, and how they check it).", "此核对由工作站自身完成。不依赖本工作站的核对，请在另一台计算机上用您保存的工作站公钥进行（见运维手册“审计人员保存什么、如何核对”）。";
    TechnicalDetail => "Technical detail", "技术细节";
    OpenCheckpoint => "What it means and how to check it", "含义与核对方法";
    StDetected => "detected", "已检测到";
    StIdentified => "identified", "已识别";
    StClockSynced => "clock set", "已校时";
    StPulling => "copying", "正在导入";
    StAnalysing => "checking continuity", "正在检查连续性";
    StVerified => "verified", "已核验";
    StErased => "erased", "已清除";
    StDone => "done: safe to take", "已完成，可取走";
    StParked => "parked: see the station log", "已暂停：见工作站日志";
    StFailed => "failed", "失败";
    NotEmptied => "NOT EMPTIED: {n} file(s) left on the recorder; dock it again", "未清空：记录仪上仍有 {n} 个文件，请重新放入底座";
    UnknownUsbDevice => "UNKNOWN USB DEVICE ({kind}): not a recorder or dock of this station; not mounted, not served", "未知 USB 设备（{kind}）：不是本站的记录仪或底座，未挂载、未处理";
    UsbPort => "USB port {port}", "USB 端口 {port}";
    FaultLowBattery => "battery low", "电量低";
    FaultStorageFull => "storage nearly full", "存储将满";
    FaultClock => "clock lost (power cut)", "时钟失效（曾断电）";
    FaultStorage => "storage read error", "存储读取错误";
    FaultVendor => "maker's fault {code}", "厂商故障 {code}";
    FaultOther => "fault {code}", "故障 {code}";
    // The command line's listings (`vigil clips`, `gaps`, `audit`).
    ColId => "Id", "编号";
    ColKind => "Kind", "类型";
    ColStream => "Stream", "音视频流";
    ColOffset => "Offset", "位置";
    ColWallClock => "Wall clock", "发生时间";
    ColDetail => "Detail", "详情";
    CountClips => "{n} clips", "共 {n} 条记录";
    CountRequests => "{n} request(s), newest first", "共 {n} 份申请，最新在前";
    ColRequest => "Request", "申请编号";
    QueueOverdueGaps => "Interruptions unexplained past the deadline (over 24 h, R9)", "超过期限仍未说明的中断（超过 24 小时，R9）";
    AgencyRequests => "Retrieval requests across the agency", "全局调取申请";
    UndecidedOnly => "Waiting for a decision only", "仅显示待审批";
    SentToStation => "decision sent to the station", "审批已发送至工作站";
    DecisionSent => "{who}'s decision ({what}) was sent to {station} and is recorded in its log when it next syncs.", "{who} 的审批（{what}）已发送至 {station}，该工作站下次同步时记入其日志。";
    DecisionRefused => "{station} refused a decision sent from the centre: {why}", "{station} 拒绝了从中心发送的审批：{why}";
    CountGaps => "{n} interruptions, {open} open, {overdue} overdue", "共 {n} 处中断，{open} 处未说明，{overdue} 处已超期";
    CountAuditRows => "{n} rows (verify the chain with `vigil verify`)", "共 {n} 条（用 `vigil verify` 核验哈希链）";
    CountStationLogRows => "{n} rows of the stations' logs (each log witnessed by the centre)", "共 {n} 条工作站日志（每份日志均经中心见证）";
    GapMissingFiles => "{missing} missing", "缺失 {missing}";
    ColUser => "User", "用户";
    ColRole => "Role", "角色";
    ColUnix => "Unix", "系统账户";
    ColEmail => "E-mail", "电子邮箱";
    ColName => "Name", "姓名";
    ColModel => "Model", "型号";
    ColNow => "now", "至今";
    ColClass => "Class", "保存类别";
    ColDue => "Due", "到期时间";
    ColProposedBy => "Proposed by", "提出人";
    ColApprovedBy => "Approved by", "批准人";
    ColDeletedAfter => "Deleted after", "删除时间";
    ColEntry => "Entry", "条目";
    ColDrawn => "Drawn", "抽取时间";
    ColSeed => "Seed", "随机种子";
    ColReviewer => "Reviewer", "审核人";
    ColFinding => "Finding", "结论";
    NotReviewed => "not reviewed", "未审核";
    PurgeDryRun => "Dry run: {n} clip(s) due for removal (nothing is removed without --confirm, --approve and --run)", "试运行：{n} 条记录到期待删除（未经 --confirm、--approve 和 --run 不会删除任何内容）";
    PurgeQueue => "Queue: {n}", "删除队列：{n}";
    OverdueUntagged => "Clips untagged {days} working days after ingest (R11): {n}", "导入后 {days} 个工作日仍未标注的记录（R11）：{n}";
    OverdueUnexplained => "Interruptions unexplained after {hours} h (R9): {n}", "超过 {hours} 小时仍未说明的中断（R9）：{n}";
    OverdueUnfiled => "Cases closed over 30 days ago and not filed (R12): {n}", "结案超过 30 日仍未归档的案件（R12）：{n}";
    AuditNextPage => "more may follow: the next page is `--after {next}`", "可能还有更多：下一页用 `--after {next}`";
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
