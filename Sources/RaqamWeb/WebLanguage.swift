public import RaqamModel

/// The web view's languages: English, Oʻzbek (Latin) and Русский, for the interface's words and
/// for entity names (the reference data has each name in all three).
public enum WebLanguage: String, Sendable, CaseIterable {
    case en, uz, ru

    /// The language a `?lang=` value names, nil for anything else.
    public init?(code: String?) {
        guard let code, let l = WebLanguage(rawValue: code.lowercased()) else { return nil }
        self = l
    }

    /// The language's own name, for the switcher.
    public var ownName: String {
        switch self {
        case .en: "English"
        case .uz: "Oʻzbek"
        case .ru: "Русский"
        }
    }

    /// An entity's name in this language (the reference data's), else `fallback` (the name
    /// it was registered with).
    public func name(of key: EntityKey, fallback: String) -> String {
        self == .en ? fallback : ReferenceData.localName(of: key, russian: self == .ru) ?? fallback
    }

    /// The interface's words, by key; English where a translation is missing.
    public func word(_ key: String) -> String { Self.words[key]?[self] ?? Self.words[key]?[.en] ?? key }

    /// Every word in this language, for a template (`{{ t.nation }}`).
    var table: [String: String] { Self.words.mapValues { $0[self] ?? $0[.en] ?? "" } }

    static let words: [String: [WebLanguage: String]] = [
        "programme": [.en: "Digital Uzbekistan 2030", .uz: "Raqamli Oʻzbekiston 2030", .ru: "Цифровой Узбекистан 2030"],
        "nation": [.en: "Nation", .uz: "Respublika", .ru: "Республика"],
        "who_lags": [.en: "Who lags", .uz: "Kim orqada qolmoqda", .ru: "Кто отстаёт"],
        "sign_in": [.en: "Sign in", .uz: "Kirish", .ru: "Войти"],
        "sign_out": [.en: "Sign out", .uz: "Chiqish", .ru: "Выйти"],
        "token": [.en: "Read token", .uz: "Oʻqish tokeni", .ru: "Токен чтения"],
        "token_help": [.en: "A token from raqamctl tokens issue (rq_…). It is kept in this browser as a session cookie only.",
                       .uz: "raqamctl tokens issue bergan token (rq_…). U brauzerda faqat sessiya cookie sifatida saqlanadi.",
                       .ru: "Токен из raqamctl tokens issue (rq_…). В браузере он хранится только как cookie сеанса."],
        "as_of": [.en: "As of", .uz: "Holat", .ru: "По состоянию на"],
        "known_at": [.en: "as known at", .uz: "maʼlum boʻlgan vaqt", .ru: "по данным на"],
        "known_now": [.en: "as known now", .uz: "hozir maʼlum boʻlganicha", .ru: "по текущим данным"],
        "newest_event": [.en: "Newest event", .uz: "Eng yangi hodisa", .ru: "Последнее событие"],
        "silent_longest": [.en: "Silent longest", .uz: "Eng uzoq jim", .ru: "Дольше всех молчат"],
        "since": [.en: "since", .uz: "dan beri", .ru: "с"],
        "show": [.en: "Show", .uz: "Koʻrsatish", .ru: "Показать"],
        "at": [.en: "At", .uz: "Sana", .ru: "На дату"],
        "figure": [.en: "Figure", .uz: "Koʻrsatkich", .ru: "Показатель"],
        "value": [.en: "Value", .uz: "Qiymat", .ru: "Значение"],
        "target": [.en: "Target", .uz: "Maqsad", .ru: "Цель"],
        "progress": [.en: "Progress", .uz: "Bajarilish", .ru: "Выполнение"],
        "pace": [.en: "Pace", .uz: "Sur'at", .ru: "Темп"],
        "trend_computing": [.en: "trend being computed (reload in a while)", .uz: "oʻzgarish hisoblanmoqda (birozdan soʻng yangilang)", .ru: "динамика вычисляется (обновите позже)"],
        "trend": [.en: "Monthly trend", .uz: "Oylik oʻzgarish", .ru: "Помесячно"],
        "trend_help": [.en: "Monthly trend: the value at the end of each of the last 12 months, as that day's page shows it (?at=), then this page's; alerts as who-lags lists them that day. Hover a line for its values.",
                       .uz: "Oylik oʻzgarish: soʻnggi 12 oyning har biri oxiridagi qiymat (oʻsha kun sahifasidagidek, ?at=), soʻng shu sahifaniki; ogohlantirishlar — oʻsha kungi orqada qolganlar roʻyxati boʻyicha.",
                       .ru: "Помесячно: значение на конец каждого из последних 12 месяцев, как на странице того дня (?at=), затем значение этой страницы; оповещения — как в списке отстающих на тот день."],
        "pace_help": [.en: "Pace: progress over the share of the target's time gone; 1 is on track, below 0.8 the target will be missed by a fifth or more.",
                      .uz: "Surʼat: bajarilish ulushi oʻtgan vaqt ulushiga nisbatan; 1 — reja boʻyicha, 0,8 dan past — maqsadga yetilmaydi.",
                      .ru: "Темп: доля выполнения к доле прошедшего срока; 1 — по плану, ниже 0,8 цель будет недовыполнена на пятую часть и более."],
        "sector_projects": [.en: "Sector projects implemented", .uz: "Amalga oshirilgan tarmoq loyihalari", .ru: "Реализованные отраслевые проекты"],
        "regional_projects": [.en: "Regional projects implemented", .uz: "Amalga oshirilgan hududiy loyihalar", .ru: "Реализованные региональные проекты"],
        "portal_services": [.en: "Services on the single portal", .uz: "Yagona portaldagi xizmatlar", .ru: "Услуги на едином портале"],
        "mobile_services": [.en: "Services in the mobile app", .uz: "Mobil ilovadagi xizmatlar", .ru: "Услуги в мобильном приложении"],
        "simplified_services": [.en: "Simplified services", .uz: "Soddalashtirilgan xizmatlar", .ru: "Упрощённые услуги"],
        "economy_volume": [.en: "Digital-economy services", .uz: "Raqamli iqtisodiyot xizmatlari", .ru: "Услуги цифровой экономики"],
        "software_export": [.en: "Software export", .uz: "Dasturiy mahsulotlar eksporti", .ru: "Экспорт программных продуктов"],
        "planned": [.en: "planned", .uz: "rejada", .ru: "запланировано"],
        "alerts_firing": [.en: "Alerts firing", .uz: "Faol ogohlantirishlar", .ru: "Активные оповещения"],
        "scope": [.en: "Scope", .uz: "Daraja", .ru: "Уровень"],
        "critical": [.en: "critical", .uz: "jiddiy", .ru: "критично"],
        "warning": [.en: "warning", .uz: "ogohlantirish", .ru: "предупреждение"],
        "info": [.en: "info", .uz: "maʼlumot", .ru: "сведения"],
        "total": [.en: "total", .uz: "jami", .ru: "всего"],
        "scope_nation": [.en: "the nation", .uz: "respublika", .ru: "республика"],
        "scope_region": [.en: "regions", .uz: "viloyatlar", .ru: "регионы"],
        "scope_district": [.en: "districts and cities", .uz: "tuman va shaharlar", .ru: "районы и города"],
        "scope_org": [.en: "organizations", .uz: "tashkilotlar", .ru: "организации"],
        "map": [.en: "Regions: share of districts and cities flagged", .uz: "Viloyatlar: belgilangan tuman va shaharlar ulushi",
                .ru: "Регионы: доля отмеченных районов и городов"],
        "map_note": [.en: "A tile map laid out geographically (west to east, north to south), not the regions' boundaries.",
                     .uz: "Geografik tartibdagi kataklar xaritasi (gʻarbdan sharqqa, shimoldan janubga), viloyat chegaralari emas.",
                     .ru: "Плиточная карта в географическом порядке (с запада на восток, с севера на юг), а не границы регионов."],
        "flagged": [.en: "flagged", .uz: "belgilangan", .ru: "отмечено"],
        "subject": [.en: "Subject", .uz: "Subyekt", .ru: "Субъект"],
        "name": [.en: "Name", .uz: "Nomi", .ru: "Название"],
        "alert": [.en: "Alert", .uz: "Ogohlantirish", .ru: "Оповещение"],
        "severity": [.en: "Severity", .uz: "Darajasi", .ru: "Важность"],
        "summary": [.en: "Summary", .uz: "Qisqacha", .ru: "Описание"],
        "region": [.en: "Region", .uz: "Viloyat", .ru: "Регион"],
        "rule": [.en: "Rule", .uz: "Qoida", .ru: "Правило"],
        "any": [.en: "any", .uz: "barchasi", .ru: "все"],
        "download_csv": [.en: "Download CSV", .uz: "CSV yuklab olish", .ru: "Скачать CSV"],
        "firing_count": [.en: "alerts firing", .uz: "faol ogohlantirish", .ru: "активных оповещений"],
        "pending": [.en: "pending", .uz: "kutilmoqda", .ru: "ожидает"],
        "include_pending": [.en: "with pending", .uz: "kutilayotganlar bilan", .ru: "с ожидающими"],
        "no_session": [.en: "Sign in with a read token to see the programme's figures.", .uz: "Dastur koʻrsatkichlarini koʻrish uchun oʻqish tokeni bilan kiring.",
                       .ru: "Войдите с токеном чтения, чтобы увидеть показатели программы."],
        "bad_token": [.en: "That token was refused", .uz: "Bu token rad etildi", .ru: "Токен отклонён"],
        "events": [.en: "events", .uz: "hodisa", .ru: "событий"],
        "sums": [.en: "sums", .uz: "soʻm", .ru: "сумов"],
        "trillion": [.en: "trillion", .uz: "trln", .ru: "трлн"],
        "billion": [.en: "billion", .uz: "mlrd", .ru: "млрд"],
        "million": [.en: "million", .uz: "mln", .ru: "млн"],
        "usd": [.en: "USD", .uz: "AQSh dollari", .ru: "долларов США"],
        "none": [.en: "none", .uz: "yoʻq", .ru: "нет"],
        "events_title": [.en: "Events", .uz: "Hodisalar", .ru: "События"],
        "event_type": [.en: "Type", .uz: "Turi", .ru: "Тип"],
        "occurred": [.en: "Occurred", .uz: "Sodir boʻlgan", .ru: "Произошло"],
        "recorded": [.en: "Recorded", .uz: "Qayd etilgan", .ru: "Записано"],
        "lateness": [.en: "Lateness", .uz: "Kechikish", .ru: "Задержка"],
        "source": [.en: "Source", .uz: "Manba", .ru: "Источник"],
        "newer": [.en: "newer", .uz: "yangiroq", .ru: "новее"],
        "previous": [.en: "previous", .uz: "oldingi", .ru: "назад"],
        "next": [.en: "next", .uz: "keyingi", .ru: "далее"],
        "older": [.en: "older", .uz: "eskiroq", .ru: "старше"],
        "alert_history": [.en: "Alert history", .uz: "Ogohlantirishlar tarixi", .ru: "История оповещений"],
        "state": [.en: "State", .uz: "Holati", .ru: "Состояние"],
        "overdue": [.en: "Overdue projects", .uz: "Muddati oʻtgan loyihalar", .ru: "Просроченные проекты"],
        "last_report": [.en: "Last report", .uz: "Oxirgi hisobot", .ru: "Последний отчёт"],
        "why": [.en: "Why", .uz: "Nima uchun", .ru: "Почему"],
        "from": [.en: "from", .uz: "manba:", .ru: "из"],
        "newest_shown": [.en: "the newest shown", .uz: "eng yangilari", .ru: "показаны последние"],
    ]
}
