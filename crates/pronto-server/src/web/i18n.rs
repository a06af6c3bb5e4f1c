//! English and Russian: a small message catalogue, the language chosen by the agent (the
//! `pronto_lang` cookie) or else by the browser's Accept-Language.

use axum::http::{HeaderMap, header};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
}

pub const LANG_COOKIE: &str = "pronto_lang";

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        let code = code.trim().to_ascii_lowercase();
        let primary = code.split(['-', '_', ';']).next().unwrap_or("");
        match primary {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            _ => None,
        }
    }

    /// The cookie first, then Accept-Language in its order of preference, else English.
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        if let Some(lang) = crate::auth::cookie(headers, LANG_COOKIE).and_then(Lang::parse) {
            return lang;
        }
        let Some(accept) = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
        else {
            return Lang::En;
        };
        let mut choices: Vec<(f32, Lang)> = accept
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let lang = Lang::parse(pieces.next()?)?;
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((q, lang))
            })
            .collect();
        choices.sort_by(|a, b| b.0.total_cmp(&a.0));
        choices.first().map_or(Lang::En, |(_, lang)| *lang)
    }
}

/// The catalogue: (key, English, Russian).
const MESSAGES: &[(&str, &str, &str)] = &[
    ("app", "Pronto", "Pronto"),
    ("unit_h", "h", "ч"),
    ("unit_min", "min", "мин"),
    ("unit_d", "d", "дн."),
    ("sign_in", "Sign in", "Войти"),
    ("sign_out", "Sign out", "Выйти"),
    ("email", "Email", "Эл. почта"),
    ("password", "Password", "Пароль"),
    (
        "workspace_opt",
        "Workspace (optional)",
        "Рабочее пространство (необязательно)",
    ),
    (
        "wrong_password",
        "Wrong email or password. Check them and try again.",
        "Неверная почта или пароль. Проверьте и попробуйте снова.",
    ),
    (
        "locked_out",
        "Too many failed attempts: this account is locked for a minute. Wait, then try again.",
        "Слишком много неудачных попыток: вход заблокирован на минуту. Подождите и попробуйте снова.",
    ),
    ("inbox", "Inbox", "Входящие"),
    ("dashboard", "Dashboard", "Показатели"),
    ("settings", "Settings", "Настройки"),
    ("keys", "Keys", "Клавиши"),
    ("main_nav", "Main", "Главное меню"),
    ("views", "Views", "Списки"),
    ("view_unanswered", "Unanswered", "Без ответа"),
    ("view_mine", "Mine", "Мои"),
    ("view_unassigned", "Unassigned", "Без исполнителя"),
    ("view_open", "All open", "Все открытые"),
    ("view_done", "Done", "Готово"),
    ("view_spam", "Spam", "Спам"),
    ("all_inboxes", "All inboxes", "Все ящики"),
    ("all_channels", "All channels", "Все каналы"),
    ("all_of_channel", "Every inbox", "Все ящики"),
    ("filter", "Filter", "Фильтр"),
    (
        "nothing_here",
        "Nothing here. Nobody is waiting.",
        "Здесь пусто. Никто не ждёт ответа.",
    ),
    ("next_page", "Next page", "Следующая страница"),
    ("first_page", "First page", "Первая страница"),
    ("unassigned", "Unassigned", "Не назначен"),
    ("answer_within", "answer within", "ответить за"),
    ("over_by", "over target by", "просрочено на"),
    (
        "window_closes_in",
        "window closes in",
        "окно закроется через",
    ),
    (
        "window_closed",
        "reply window closed",
        "окно ответа закрыто",
    ),
    (
        "waiting_reply",
        "waiting for a follow-up",
        "ждёт продолжения",
    ),
    ("customer", "Customer", "Клиент"),
    ("agent", "Agent", "Агент"),
    ("automation", "Automation", "Автоматика"),
    (
        "doesnt_count",
        "doesn't count toward the figures",
        "не влияет на показатели",
    ),
    ("queued", "queued", "в очереди"),
    ("sending", "sending", "отправляется"),
    ("sent", "sent", "отправлено"),
    ("failed", "failed", "не доставлено"),
    ("received", "received", "получено"),
    ("reply", "Reply", "Ответ"),
    (
        "reply_placeholder",
        "Write a reply. Enter sends, Shift+Enter for a new line.",
        "Напишите ответ. Enter — отправить, Shift+Enter — новая строка.",
    ),
    ("send", "Send", "Отправить"),
    ("templates", "Templates", "Шаблоны"),
    ("insert_template", "Insert a template…", "Вставить шаблон…"),
    ("done", "Done", "Готово"),
    ("spam", "Spam", "Спам"),
    ("reopen", "Reopen", "Открыть снова"),
    ("assign", "Assign", "Назначить"),
    ("assign_me", "Assign to me", "Назначить себе"),
    ("assignee", "Assignee", "Исполнитель"),
    ("nobody", "Nobody", "Никто"),
    ("contact", "Contact", "Контакт"),
    ("earlier", "Earlier conversations", "Прежние разговоры"),
    ("none", "None", "Нет"),
    ("status", "Status", "Статус"),
    ("status_open", "Open", "Открыт"),
    ("status_done", "Done", "Готово"),
    ("status_spam", "Spam", "Спам"),
    ("channel", "Channel", "Канал"),
    ("back_to_inbox", "Back to the inbox", "Назад во входящие"),
    (
        "window_closed_error",
        "Meta's 24-hour reply window for this conversation has closed: the customer must write again before you can answer here.",
        "24-часовое окно ответа Meta для этого разговора закрыто: клиент должен написать снова, прежде чем вы сможете ответить.",
    ),
    (
        "send_failed",
        "The reply was not sent:",
        "Ответ не отправлен:",
    ),
    ("attachment", "Attachment", "Вложение"),
    ("availability", "Availability", "Доступность"),
    ("available", "Available", "На месте"),
    ("away", "Away", "Отошёл"),
    ("set_away", "Set Away", "Отойти"),
    ("set_available", "Set Available", "Вернуться"),
    (
        "away_resets_in",
        "Away resets itself in",
        "Статус «Отошёл» сбросится через",
    ),
    ("away_until", "Away until", "Отошёл до"),
    ("badge_held", "Badge held", "Значок есть"),
    ("badge_at_risk", "Badge at risk", "Значок под угрозой"),
    ("badge_lost", "Badge lost", "Значка нет"),
    ("response_rate", "Response rate", "Доля ответов"),
    ("response_time", "Response time", "Время ответа"),
    ("target", "target", "цель"),
    ("window", "Window", "Окно"),
    ("basis_days", "the last {n} days", "последние {n} дн."),
    (
        "basis_last",
        "the last {k} new conversations (fewer than {k} in {n} days)",
        "последние {k} новых разговоров (меньше {k} за {n} дн.)",
    ),
    ("starts", "new conversations", "новых разговоров"),
    ("answered", "answered", "отвечено"),
    ("pending", "waiting now", "ждут сейчас"),
    ("pooled", "All inboxes together", "Все ящики вместе"),
    (
        "pooled_note",
        "The windowed new conversations of every inbox taken together.",
        "Новые разговоры в окне каждого ящика, взятые вместе.",
    ),
    (
        "outside_note",
        "Actions taken outside Pronto (in Meta's own inbox) are not seen here.",
        "Действия вне Pronto (во встроенных входящих Meta) здесь не видны.",
    ),
    (
        "distribution",
        "Response-time distribution (window)",
        "Распределение времени ответа (окно)",
    ),
    ("daily", "Daily, last 30 days", "По дням, последние 30 дней"),
    ("daily_rate", "Rate", "Доля"),
    ("daily_time", "Median time", "Медианное время"),
    (
        "per_agent",
        "Answered by agent (window)",
        "Ответы по агентам (окно)",
    ),
    ("per_channel", "Per channel", "По каналам"),
    ("export_csv", "Export CSV", "Выгрузить CSV"),
    ("unanswered_bucket", "unanswered", "без ответа"),
    ("no_figures", "No figures yet.", "Показателей пока нет."),
    ("inboxes", "Inboxes", "Ящики"),
    ("agents", "Agents", "Агенты"),
    ("workspace", "Workspace", "Рабочее пространство"),
    ("name", "Name", "Имя"),
    ("role", "Role", "Роль"),
    ("role_admin", "Admin", "Администратор"),
    ("role_agent", "Agent", "Агент"),
    ("active", "Active", "Активен"),
    ("deactivated", "Deactivated", "Отключён"),
    ("deactivate", "Deactivate", "Отключить"),
    ("reactivate", "Reactivate", "Включить снова"),
    ("add", "Add", "Добавить"),
    ("add_inbox", "Add an inbox", "Добавить ящик"),
    ("add_agent", "Add an agent", "Добавить агента"),
    ("page_id", "Facebook Page id", "Id страницы Facebook"),
    ("page_token", "Page access token", "Токен доступа страницы"),
    (
        "webhook_url",
        "Webhook URL to paste into Meta",
        "URL вебхука для Meta",
    ),
    (
        "verify_token_hint",
        "Verify token: the value of the PRONTO_META_VERIFY_TOKEN setting",
        "Токен проверки: значение настройки PRONTO_META_VERIFY_TOKEN",
    ),
    (
        "public_url_missing",
        "Set PRONTO_PUBLIC_URL to see the webhook URL.",
        "Задайте PRONTO_PUBLIC_URL, чтобы увидеть URL вебхука.",
    ),
    (
        "admins_only",
        "Only the workspace's admins can change settings.",
        "Настройки меняют только администраторы.",
    ),
    ("saved", "Saved.", "Сохранено."),
    ("language", "Language", "Язык"),
    ("help_title", "Keyboard shortcuts", "Горячие клавиши"),
    (
        "key_jk",
        "move down / up the list",
        "вниз / вверх по списку",
    ),
    ("key_enter", "open the conversation", "открыть разговор"),
    ("key_r", "reply", "ответить"),
    ("key_e", "mark Done", "отметить «Готово»"),
    ("key_spam", "mark Spam", "отметить «Спам»"),
    ("key_a", "assign to me", "назначить себе"),
    ("key_help", "show this help", "показать эту справку"),
    ("key_esc", "close / back", "закрыть / назад"),
    ("close", "Close", "Закрыть"),
    ("live_reconnecting", "Reconnecting…", "Переподключение…"),
    ("error", "Something went wrong:", "Что-то пошло не так:"),
    ("conversation", "Conversation", "Разговор"),
    ("forecast", "Forecast", "Прогноз"),
    ("evaluated_at", "as of", "на"),
    ("per_inbox", "Per inbox", "По ящикам"),
    ("open_dashboard", "Dashboard", "Показатели"),
];

/// Messages in one language, for templates: `{{ t.s("inbox") }}`.
#[derive(Clone, Copy, Debug)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn s(&self, key: &str) -> &'static str {
        MESSAGES
            .iter()
            .find(|(k, _, _)| *k == key)
            .map_or("?", |(_, en, ru)| match self.lang {
                Lang::En => en,
                Lang::Ru => ru,
            })
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_and_cookie() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::from_headers(&headers), Lang::En);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            "de-DE,ru;q=0.9,en;q=0.8".parse().unwrap(),
        );
        assert_eq!(Lang::from_headers(&headers), Lang::Ru);
        headers.insert(header::COOKIE, "pronto_lang=en".parse().unwrap());
        assert_eq!(Lang::from_headers(&headers), Lang::En);
    }

    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<_> = MESSAGES.iter().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len());
    }
}
