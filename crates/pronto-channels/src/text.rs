//! What the simulated customers and the demo's agents say: a small clothing shop's questions
//! and answers, in English and Russian, with the names of the people who write.
//!
//! Texts hold placeholders filled per exchange: `{name}` (the customer's first name), `{item}`,
//! `{order}`, `{size}`, `{city}`, `{code}`. Each question comes with the answer that fits it.

use crate::rng::Rng;

/// The language a customer writes in (and is answered in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    Ru,
}

impl Lang {
    fn index(self) -> usize {
        match self {
            Lang::En => 0,
            Lang::Ru => 1,
        }
    }

    /// The language of a text, by its script: Cyrillic is Russian.
    pub fn of_text(text: &str) -> Lang {
        if text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)) {
            Lang::Ru
        } else {
            Lang::En
        }
    }
}

/// A question and the answer that fits it.
type Pair = (&'static str, &'static str);

/// What a conversation is about.
pub struct Topic {
    #[cfg_attr(not(test), allow(dead_code))]
    pub name: &'static str,
    /// Opening questions with their answers, per language.
    exchanges: [&'static [Pair]; 2],
    /// A customer's follow-up question after the answer, with its answer.
    follow_ups: [&'static [Pair]; 2],
}

impl Topic {
    pub fn exchange_count(&self, lang: Lang) -> usize {
        self.exchanges[lang.index()].len()
    }

    pub fn exchange(&self, lang: Lang, i: usize) -> Pair {
        let list = self.exchanges[lang.index()];
        list[i % list.len()]
    }

    pub fn follow_up(&self, lang: Lang, i: usize) -> Pair {
        let list = self.follow_ups[lang.index()];
        list[i % list.len()]
    }
}

pub static TOPICS: &[Topic] = &[
    Topic {
        name: "order status",
        exchanges: [
            &[
                (
                    "Hi! I ordered the {item} last week (order #{order}) and it still hasn't shipped. Any news?",
                    "Hi {name}! Order #{order} left our warehouse this morning; the courier should bring it within 2 days. The tracking link will update tonight.",
                ),
                (
                    "Hello, where is my order #{order}? The tracking hasn't updated for 3 days.",
                    "Sorry for the wait, {name}! The parcel is at the sorting centre in {city}; the courier has it scheduled for tomorrow.",
                ),
                (
                    "Hey, could you check the status of order {order}? I need it by Friday.",
                    "Hi {name}! Order #{order} is packed and ships today, so it will be with you on Thursday.",
                ),
            ],
            &[
                (
                    "Здравствуйте! Заказ №{order} оформлен на прошлой неделе, а он всё ещё не отправлен. Подскажите, что с ним?",
                    "Здравствуйте, {name}! Заказ №{order} сегодня утром передан в доставку, курьер привезёт его в течение двух дней. Трек обновится вечером.",
                ),
                (
                    "Добрый день, где мой заказ {order}? Трек-номер не обновляется уже три дня.",
                    "Простите за ожидание, {name}! Посылка на сортировочном центре, курьер привезёт её завтра.",
                ),
                (
                    "Привет! Можете проверить статус заказа №{order}? Нужен к пятнице.",
                    "Здравствуйте, {name}! Заказ №{order} собран и уедет сегодня, так что в четверг он будет у вас.",
                ),
            ],
        ],
        follow_ups: [
            &[
                (
                    "Great, will the courier call me before delivery?",
                    "Yes, the courier always calls about an hour before.",
                ),
                (
                    "Thanks! Can I change the delivery address to my office?",
                    "Done — the address on order #{order} is updated.",
                ),
            ],
            &[
                (
                    "Отлично, а курьер позвонит перед доставкой?",
                    "Да, курьер всегда звонит примерно за час до приезда.",
                ),
                (
                    "Спасибо! А можно поменять адрес доставки на рабочий?",
                    "Готово — адрес в заказе №{order} обновлён.",
                ),
            ],
        ],
    },
    Topic {
        name: "sizes",
        exchanges: [
            &[
                (
                    "Hi, what size of the {item} should I take? I'm usually an M, 178 cm.",
                    "Hi {name}! The {item} is true to size, so take your usual M. The size chart is at prontoshop.example/sizes",
                ),
                (
                    "Does the {item} run small? I'm between S and M.",
                    "It's a relaxed fit — if you're between sizes, take the smaller one. S is in stock right now.",
                ),
                (
                    "Is the {item} available in size {size}?",
                    "Yes, {name}, size {size} is in stock and ships today if you order before 2 pm.",
                ),
            ],
            &[
                (
                    "Здравствуйте! Подскажите, какой размер модели «{item}» взять? Обычно ношу M, рост 178.",
                    "Здравствуйте, {name}! Модель «{item}» в размер, берите свой обычный M. Таблица размеров: prontoshop.example/sizes",
                ),
                (
                    "Модель «{item}» маломерит? У меня что-то между S и M.",
                    "Крой свободный — если сомневаетесь, берите меньший. S сейчас есть в наличии.",
                ),
                (
                    "Есть ли «{item}» в размере {size}?",
                    "Да, {name}, размер {size} в наличии; если оформить до 14:00, отправим сегодня.",
                ),
            ],
        ],
        follow_ups: [
            &[
                (
                    "And if it doesn't fit, can I exchange it?",
                    "Of course, exchanges are free within 30 days.",
                ),
                (
                    "What about the sleeve length?",
                    "The sleeve is 64 cm in size M — it's on the product page under Measurements.",
                ),
            ],
            &[
                (
                    "А если не подойдёт, можно обменять?",
                    "Конечно, обмен бесплатный в течение 30 дней.",
                ),
                (
                    "А какая длина рукава?",
                    "В размере M рукав 64 см — все замеры есть на странице товара.",
                ),
            ],
        ],
    },
    Topic {
        name: "delivery",
        exchanges: [
            &[
                (
                    "How long does delivery to {city} take?",
                    "Hi {name}! Delivery to {city} takes 2–4 working days and is free over €50.",
                ),
                (
                    "Do you ship to {city}? How much is it?",
                    "We do! Standard delivery to {city} is €4.90, free on orders over €50.",
                ),
                (
                    "Hi! If I order today, will it arrive before the weekend?",
                    "Yes, {name}! Order before 2 pm and it ships the same day; weekend delivery can be chosen at checkout.",
                ),
            ],
            &[
                (
                    "Сколько идёт доставка в {city}?",
                    "Здравствуйте, {name}! Доставка в {city} — 2–4 рабочих дня, от 5000 ₽ бесплатно.",
                ),
                (
                    "Доставляете в {city}? Сколько стоит?",
                    "Доставляем! Обычная доставка в {city} — 390 ₽, от 5000 ₽ бесплатно.",
                ),
                (
                    "Добрый день! Если закажу сегодня, успеете привезти до выходных?",
                    "Успеем, {name}! Если оформить до 14:00, отправим в тот же день; доставку в выходные можно выбрать при оформлении.",
                ),
            ],
        ],
        follow_ups: [
            &[
                (
                    "Is there express delivery?",
                    "Yes, next-day express is €9.90.",
                ),
                (
                    "Can I choose a pickup point instead?",
                    "Sure, pickup points are listed at checkout once you enter your postcode.",
                ),
            ],
            &[
                (
                    "А экспресс-доставка есть?",
                    "Есть, экспресс на следующий день — 490 ₽.",
                ),
                (
                    "А можно в пункт выдачи?",
                    "Конечно, пункты выдачи появятся при оформлении, когда укажете адрес.",
                ),
            ],
        ],
    },
    Topic {
        name: "returns",
        exchanges: [
            &[
                (
                    "Hi, I'd like to return the {item}, it doesn't fit. How do I do that?",
                    "Sorry it didn't work out, {name}! You can return it within 30 days: print the label at prontoshop.example/returns and drop the parcel at any post office. The refund takes 3–5 days.",
                ),
                (
                    "How do returns work? The colour of the {item} is not what I expected.",
                    "Of course, {name}. I've just emailed you a free return label for order #{order}.",
                ),
                (
                    "Can I return something I bought on sale?",
                    "Yes, sale items can be returned within 14 days, as long as the tags are on.",
                ),
            ],
            &[
                (
                    "Здравствуйте, хочу вернуть «{item}» — не подошёл размер. Как это сделать?",
                    "Жаль, что не подошло, {name}! Вернуть можно в течение 30 дней: распечатайте этикетку на prontoshop.example/returns и сдайте посылку в любом отделении. Деньги вернутся за 3–5 дней.",
                ),
                (
                    "Как оформить возврат? Цвет у модели «{item}» не такой, как на фото.",
                    "Конечно, {name}. Отправили вам на почту бесплатную этикетку для возврата заказа №{order}.",
                ),
                (
                    "Можно вернуть товар, купленный со скидкой?",
                    "Да, товары со скидкой можно вернуть в течение 14 дней, если сохранены бирки.",
                ),
            ],
        ],
        follow_ups: [
            &[
                (
                    "Do I need the original packaging?",
                    "Not necessarily — just keep the tags on.",
                ),
                (
                    "When will I get my money back?",
                    "Within 3–5 working days after the parcel reaches us.",
                ),
            ],
            &[
                (
                    "Нужна оригинальная упаковка?",
                    "Не обязательно, главное — сохраните бирки.",
                ),
                (
                    "Когда вернутся деньги?",
                    "В течение 3–5 рабочих дней после того, как посылка придёт к нам.",
                ),
            ],
        ],
    },
    Topic {
        name: "payment",
        exchanges: [
            &[
                (
                    "My card was declined at checkout, but the money was taken. What should I do?",
                    "Hi {name}, don't worry — that's a hold, not a charge; the bank releases it within 3 days. Shall I send you a payment link to try again?",
                ),
                (
                    "Can I pay on delivery?",
                    "Yes, cash or card on delivery is available for orders under €300.",
                ),
                (
                    "Do you accept PayPal?",
                    "We do, {name} — choose PayPal on the last step of checkout.",
                ),
            ],
            &[
                (
                    "Оплата картой не прошла, а деньги списались. Что делать?",
                    "{name}, не волнуйтесь — это блокировка, а не списание, банк снимет её в течение 3 дней. Прислать ссылку, чтобы оплатить ещё раз?",
                ),
                (
                    "Можно оплатить при получении?",
                    "Да, оплата картой или наличными при получении доступна для заказов до 30 000 ₽.",
                ),
                (
                    "Можно оплатить через СБП?",
                    "Можно, {name} — выберите СБП на последнем шаге оформления.",
                ),
            ],
        ],
        follow_ups: [
            &[
                (
                    "Yes please, send the link.",
                    "Here it is: prontoshop.example/pay/{order} — it's valid for 24 hours.",
                ),
                (
                    "Can I get an invoice for my company?",
                    "Sure, send me the company details and I'll email the invoice today.",
                ),
            ],
            &[
                (
                    "Да, пришлите ссылку, пожалуйста.",
                    "Вот она: prontoshop.example/pay/{order} — действует 24 часа.",
                ),
                (
                    "Можно счёт на юрлицо?",
                    "Конечно, пришлите реквизиты, и сегодня же отправим счёт на почту.",
                ),
            ],
        ],
    },
    Topic {
        name: "discounts",
        exchanges: [
            &[
                (
                    "Hi! Do you have any discounts right now?",
                    "Hi {name}! Our autumn sale is on: 20% off outerwear until Sunday, and code {code} gives 10% off your first order.",
                ),
                (
                    "My promo code {code} doesn't work at checkout.",
                    "Sorry about that, {name}! The code only works on full-price items; we've applied 10% to your basket manually — please refresh the page.",
                ),
                (
                    "Is there a student discount?",
                    "Yes, 15% with a valid student ID — send a photo here and we'll give you a personal code.",
                ),
            ],
            &[
                (
                    "Здравствуйте! Есть сейчас какие-нибудь скидки?",
                    "Здравствуйте, {name}! До воскресенья распродажа: −20% на верхнюю одежду, а по промокоду {code} −10% на первый заказ.",
                ),
                (
                    "Промокод {code} не срабатывает при оформлении.",
                    "Извините, {name}! Промокод действует только на товары без скидки; мы вручную применили −10% к вашей корзине — обновите страницу.",
                ),
                (
                    "Есть скидка для студентов?",
                    "Да, 15% по студенческому билету — пришлите фото сюда, и мы дадим персональный промокод.",
                ),
            ],
        ],
        follow_ups: [
            &[
                (
                    "Does it combine with free delivery?",
                    "Yes, free delivery still applies over €50 after the discount.",
                ),
                (
                    "Will there be a Black Friday sale?",
                    "Yes! Subscribers get early access on Thursday evening.",
                ),
            ],
            &[
                (
                    "А бесплатная доставка при этом сохраняется?",
                    "Да, если сумма после скидки от 5000 ₽.",
                ),
                (
                    "А на Чёрную пятницу будут скидки?",
                    "Будут! Подписчики получат ранний доступ в четверг вечером.",
                ),
            ],
        ],
    },
    Topic {
        name: "stock",
        exchanges: [
            &[
                (
                    "Will the {item} be back in stock in size {size}?",
                    "We're expecting a new delivery next Tuesday, {name}. Shall we let you know when it arrives?",
                ),
                (
                    "Is the {item} available in black?",
                    "Yes, black is in stock in all sizes except XS.",
                ),
                (
                    "Can I reserve the {item} and pick it up tomorrow?",
                    "Sure, {name} — it's reserved for you until tomorrow 8 pm at our Market Street shop.",
                ),
            ],
            &[
                (
                    "Будет ли модель «{item}» в размере {size}?",
                    "Ждём новую поставку в следующий вторник, {name}. Написать вам, когда придёт?",
                ),
                (
                    "Есть ли «{item}» в чёрном цвете?",
                    "Да, чёрный есть во всех размерах, кроме XS.",
                ),
                (
                    "Можно отложить «{item}» и забрать завтра?",
                    "Конечно, {name} — отложили для вас до завтра до 20:00 в магазине на Лесной.",
                ),
            ],
        ],
        follow_ups: [
            &[
                (
                    "Yes please, let me know!",
                    "Noted — you'll get a message as soon as it arrives.",
                ),
                (
                    "Do you have it in other colours too?",
                    "Navy and olive, both in all sizes.",
                ),
            ],
            &[
                (
                    "Да, напишите, пожалуйста!",
                    "Записали — напишем, как только поступит.",
                ),
                (
                    "А другие цвета есть?",
                    "Есть тёмно-синий и оливковый, во всех размерах.",
                ),
            ],
        ],
    },
    Topic {
        name: "damaged item",
        exchanges: [
            &[
                (
                    "The {item} arrived with a broken zipper 😞",
                    "I'm so sorry, {name}! We'll send a replacement today at our cost — could you send a photo of the zipper for our records?",
                ),
                (
                    "The parcel came damaged and one item is missing from order #{order}.",
                    "Sorry about that! We've opened a claim with the courier and are sending the missing item today.",
                ),
            ],
            &[
                (
                    "Товар «{item}» пришёл со сломанной молнией 😞",
                    "Очень жаль, {name}! Сегодня же отправим замену за наш счёт — пришлите, пожалуйста, фото молнии.",
                ),
                (
                    "Посылка пришла помятая, в заказе №{order} не хватает одной вещи.",
                    "Извините! Мы открыли претензию в службе доставки и сегодня отправим недостающую вещь.",
                ),
            ],
        ],
        follow_ups: [
            &[
                (
                    "Do I need to send the broken one back?",
                    "No need — keep it or donate it.",
                ),
                (
                    "Here's the photo.",
                    "Thank you! The replacement is on its way, tracking to follow by email.",
                ),
            ],
            &[
                (
                    "Сломанный нужно отправлять обратно?",
                    "Не нужно — оставьте себе.",
                ),
                (
                    "Вот фото.",
                    "Спасибо! Замена уже в пути, трек придёт на почту.",
                ),
            ],
        ],
    },
    Topic {
        name: "change or cancel",
        exchanges: [
            &[
                (
                    "Can I cancel order #{order}? I picked the wrong size.",
                    "No problem, {name} — order #{order} is cancelled and the refund is on its way. Shall we place it again in the right size?",
                ),
                (
                    "I'd like to add one more item to order #{order}, is it too late?",
                    "Not too late! It hasn't shipped yet — tell us which item and we'll add it.",
                ),
            ],
            &[
                (
                    "Можно отменить заказ №{order}? Размер выбран не тот.",
                    "Без проблем, {name} — заказ №{order} отменён, деньги вернутся на карту. Оформить заново в нужном размере?",
                ),
                (
                    "Хочу добавить ещё одну вещь в заказ №{order}, ещё не поздно?",
                    "Не поздно! Заказ ещё не отправлен — напишите, какую вещь добавить.",
                ),
            ],
        ],
        follow_ups: [
            &[
                (
                    "Yes please, size {size}.",
                    "Done — the new order in size {size} ships today.",
                ),
                (
                    "The {item} in size {size}, please.",
                    "Added! The total is updated in your account.",
                ),
            ],
            &[
                (
                    "Да, пожалуйста, размер {size}.",
                    "Готово — новый заказ в размере {size} отправим сегодня.",
                ),
                (
                    "«{item}», размер {size}, пожалуйста.",
                    "Добавили! Сумма в личном кабинете обновлена.",
                ),
            ],
        ],
    },
    Topic {
        name: "shop and pickup",
        exchanges: [
            &[
                (
                    "What are your opening hours on Sunday?",
                    "We're open 10 am – 6 pm on Sundays, {name}.",
                ),
                (
                    "Can I pick up my online order in the shop?",
                    "Yes — choose “Pickup at Market Street” at checkout; it's ready in 2 hours.",
                ),
            ],
            &[
                (
                    "Во сколько вы работаете в воскресенье?",
                    "В воскресенье мы открыты с 10:00 до 18:00, {name}.",
                ),
                (
                    "Можно забрать интернет-заказ в магазине?",
                    "Да — выберите «Самовывоз с Лесной» при оформлении, заказ будет готов через 2 часа.",
                ),
            ],
        ],
        follow_ups: [
            &[
                (
                    "Is there parking nearby?",
                    "Yes, there's a car park right behind the shop, free for the first hour.",
                ),
                (
                    "Can someone else pick it up for me?",
                    "Sure, they just need the order number and your name.",
                ),
            ],
            &[
                (
                    "Рядом есть парковка?",
                    "Да, прямо за магазином, первый час бесплатно.",
                ),
                (
                    "А забрать может другой человек?",
                    "Конечно, достаточно назвать номер заказа и ваше имя.",
                ),
            ],
        ],
    },
    Topic {
        name: "gifts",
        exchanges: [
            &[
                (
                    "Do you do gift wrapping? It's for my sister's birthday 🎁",
                    "We do! Gift wrapping with a card is €3 — tick the box at checkout and write your message.",
                ),
                (
                    "Do you sell gift cards?",
                    "Yes, {name}: e-gift cards from €25 to €500, delivered by email instantly.",
                ),
            ],
            &[
                (
                    "А подарочная упаковка у вас есть? Это на день рождения сестры 🎁",
                    "Есть! Упаковка с открыткой — 200 ₽, отметьте при оформлении и напишите текст поздравления.",
                ),
                (
                    "Есть подарочные сертификаты?",
                    "Да, {name}: электронные сертификаты от 1000 до 30 000 ₽, приходят на почту сразу.",
                ),
            ],
        ],
        follow_ups: [
            &[
                (
                    "Can the price be left off the parcel?",
                    "Yes, gift orders never include the receipt.",
                ),
                (
                    "How long is the gift card valid?",
                    "A full year from the day it's bought.",
                ),
            ],
            &[
                (
                    "А можно, чтобы в посылке не было чека?",
                    "Да, в подарочные заказы чек не кладём.",
                ),
                ("Сколько действует сертификат?", "Год с момента покупки."),
            ],
        ],
    },
    Topic {
        name: "materials and care",
        exchanges: [
            &[
                (
                    "What is the {item} made of? Can I machine-wash it?",
                    "Natural fibres (the exact blend is on the product page); a 30° gentle cycle is fine, no tumble dryer.",
                ),
                (
                    "Is the {item} warm enough for winter?",
                    "It's good down to about −5 °C; for colder days we'd suggest the puffer jacket.",
                ),
            ],
            &[
                (
                    "Из чего сделана модель «{item}»? Можно стирать в машинке?",
                    "Натуральные волокна (точный состав — на странице товара); стирка при 30° в деликатном режиме, без сушильной машины.",
                ),
                (
                    "«{item}» подойдёт для зимы?",
                    "Подойдёт примерно до −5 °C; для морозов советуем пуховик.",
                ),
            ],
        ],
        follow_ups: [
            &[
                ("Does it shrink?", "Not if washed at 30° — it's pre-washed."),
                ("Is it itchy?", "Not at all, it's lined with cotton."),
            ],
            &[
                (
                    "Не сядет после стирки?",
                    "При 30° не сядет — ткань уже предварительно постирана.",
                ),
                ("Не колется?", "Совсем нет, внутри хлопковая подкладка."),
            ],
        ],
    },
];

/// What a customer adds before anyone answered.
pub static MORE: [&[&str]; 2] = [
    &[
        "Thanks in advance!",
        "Please let me know asap 🙏",
        "Order number {order} btw",
        "It's quite urgent",
        "I also sent an email yesterday",
    ],
    &[
        "Заранее спасибо!",
        "Ответьте, пожалуйста, как сможете 🙏",
        "Номер заказа {order}, если что",
        "Это довольно срочно",
        "Письмо на почту тоже отправлено",
    ],
];

/// A customer still waiting for an answer.
pub static NUDGES: [&[&str]; 2] = [
    &[
        "Hello? Is anyone there?",
        "Still waiting for an answer…",
        "Hi again, any news?",
        "??",
    ],
    &[
        "Алло, есть кто-нибудь?",
        "Всё ещё жду ответа…",
        "Здравствуйте ещё раз, есть новости?",
        "??",
    ],
];

/// A customer's reaction to an answer.
pub static THANKS: [&[&str]; 2] = [
    &[
        "Thank you so much! 🙏",
        "Great, thanks!",
        "Perfect, thank you",
        "Super, thanks for the quick answer!",
        "👍",
        "Thanks, that helps a lot",
    ],
    &[
        "Спасибо большое! 🙏",
        "Отлично, спасибо!",
        "Супер, спасибо за быстрый ответ!",
        "👍",
        "Спасибо, очень помогли",
        "Понятно, спасибо",
    ],
];

/// An agent's closing line after the customer's thanks.
pub static CLOSERS: [&[&str]; 2] = [
    &[
        "You're welcome, {name}! Have a great day 😊",
        "Any time! Enjoy your {item}",
        "Happy to help, {name}!",
    ],
    &[
        "Пожалуйста, {name}! Хорошего дня 😊",
        "Обращайтесь! Приятных покупок",
        "Рады помочь, {name}!",
    ],
];

/// The automatic acknowledgement of a new message, in working hours and while away.
pub static ACK: [&str; 2] = [
    "Thanks for your message! We usually reply within a few minutes.",
    "Спасибо за сообщение! Обычно мы отвечаем в течение нескольких минут.",
];
pub static ACK_AWAY: [&str; 2] = [
    "Thanks for writing! We're offline right now and will answer after 8:00 in the morning.",
    "Спасибо, что написали! Сейчас мы не в сети и ответим после 8:00 утра.",
];

/// Messages the team marks as spam.
pub static SPAM: &[&str] = &[
    "🔥 Grow your page to 10k followers in 7 days! DM for prices",
    "Congratulations! You have been selected for a FREE iPhone 17, claim here: bit.ly/fr33-ph0ne",
    "Hello dear, I am interested in business partnership, kindly check my profile",
    "Раскрутка аккаунта! 10 000 подписчиков за неделю, пишите в директ",
    "Заработок от 5000 ₽ в день без вложений, подробности по ссылке в профиле",
];

static ITEMS: [&[&str]; 2] = [
    &[
        "linen shirt",
        "wool coat",
        "denim jacket",
        "leather sneakers",
        "knit sweater",
        "silk scarf",
        "midi dress",
        "chinos",
        "rain jacket",
        "cashmere beanie",
        "canvas tote bag",
        "puffer jacket",
    ],
    &[
        "Льняная рубашка",
        "Шерстяное пальто",
        "Джинсовая куртка",
        "Кожаные кеды",
        "Вязаный свитер",
        "Шёлковый платок",
        "Платье миди",
        "Брюки чинос",
        "Дождевик",
        "Кашемировая шапка",
        "Холщовая сумка",
        "Пуховик",
    ],
];

/// Cities, the Russian ones in the accusative ("в Казань").
static CITIES: [&[&str]; 2] = [
    &[
        "London",
        "Manchester",
        "Berlin",
        "Dublin",
        "Warsaw",
        "Riga",
        "Amsterdam",
        "Vilnius",
    ],
    &[
        "Москву",
        "Казань",
        "Екатеринбург",
        "Новосибирск",
        "Самару",
        "Минск",
        "Алматы",
        "Санкт-Петербург",
    ],
];

static SIZES: &[&str] = &["XS", "S", "M", "L", "XL"];
static CODES: &[&str] = &["WELCOME10", "AUTUMN20", "PRONTO15", "FRIENDS10"];

static EN_FIRST: &[&str] = &[
    "Emily", "Oliver", "Sophie", "Liam", "Chloe", "Noah", "Grace", "Jack", "Mia", "Harry", "Ella",
    "Daniel", "Lucy", "Thomas", "Hannah", "Ryan", "Olivia", "Ethan", "Amelia", "Sam", "Zoe",
    "Lena", "Marco", "Aisha",
];
static EN_LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Wilson",
    "Davies",
    "Evans",
    "Walker",
    "Wright",
    "Thompson",
    "Hughes",
    "Green",
    "Hall",
    "Clarke",
    "Baker",
    "Murphy",
    "O'Brien",
    "Schneider",
    "Novak",
    "Kowalski",
    "Rossi",
    "Khan",
];
static RU_MALE: &[&str] = &[
    "Алексей",
    "Дмитрий",
    "Иван",
    "Сергей",
    "Михаил",
    "Никита",
    "Артём",
    "Андрей",
    "Павел",
    "Кирилл",
    "Егор",
    "Максим",
];
static RU_FEMALE: &[&str] = &[
    "Мария",
    "Анна",
    "Елена",
    "Ольга",
    "Наталья",
    "Екатерина",
    "Дарья",
    "Ксения",
    "Алина",
    "Полина",
    "Вера",
    "Софья",
];
/// Male surnames; the female form adds "а".
static RU_LAST: &[&str] = &[
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Соколов",
    "Лебедев",
    "Козлов",
    "Новиков",
    "Морозов",
    "Волков",
    "Фёдоров",
    "Орлов",
];

/// A customer's full name in their language.
pub fn person_name(rng: &mut Rng, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{} {}", rng.pick(EN_FIRST), rng.pick(EN_LAST)),
        Lang::Ru => {
            let last = rng.pick(RU_LAST);
            if rng.chance(550) {
                format!("{} {last}а", rng.pick(RU_FEMALE))
            } else {
                format!("{} {last}", rng.pick(RU_MALE))
            }
        }
    }
}

/// The particulars of one exchange, so that a question and its answer speak of the same order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Particulars {
    pub name: String,
    pub item: usize,
    pub order: u32,
    pub size: &'static str,
    pub city: usize,
    pub code: &'static str,
}

impl Particulars {
    /// Drawn for a customer called `full_name`.
    pub fn draw(rng: &mut Rng, full_name: &str) -> Self {
        Particulars {
            name: full_name
                .split_whitespace()
                .next()
                .unwrap_or(full_name)
                .to_owned(),
            item: rng.below(ITEMS[0].len() as u64) as usize,
            order: 40_000 + rng.below(30_000) as u32,
            size: rng.pick(SIZES),
            city: rng.below(CITIES[0].len() as u64) as usize,
            code: rng.pick(CODES),
        }
    }

    /// `template` with its placeholders filled in `lang`.
    pub fn fill(&self, template: &str, lang: Lang) -> String {
        let l = lang.index();
        template
            .replace("{name}", &self.name)
            .replace("{item}", ITEMS[l][self.item % ITEMS[l].len()])
            .replace("{order}", &self.order.to_string())
            .replace("{size}", self.size)
            .replace("{city}", CITIES[l][self.city % CITIES[l].len()])
            .replace("{code}", self.code)
    }
}

/// One of `lines` in `lang`, filled.
pub fn line(rng: &mut Rng, lines: &[&[&str]; 2], lang: Lang, particulars: &Particulars) -> String {
    particulars.fill(rng.pick(lines[lang.index()]), lang)
}

/// The automatic acknowledgement in `lang`.
pub fn acknowledgement(lang: Lang, away: bool) -> &'static str {
    if away {
        ACK_AWAY[lang.index()]
    } else {
        ACK[lang.index()]
    }
}

/// Reply templates for the demo workspace, `(title, text)`, English and Russian pairs;
/// [`crate::demo::seed`] stores them (the language by the text's script). `{{name}}` and
/// `{{order}}` are for the agent to fill.
pub fn demo_templates() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "Greeting (EN)",
            "Hi {{name}}! Thanks for writing to Pronto Shop — how can I help?",
        ),
        (
            "Приветствие (RU)",
            "Здравствуйте, {{name}}! Спасибо, что написали в Pronto Shop. Чем можем помочь?",
        ),
        (
            "Order status (EN)",
            "Hi {{name}}! Order #{{order}} has left our warehouse; the courier should bring it within 2 working days. You'll get the tracking link by email tonight.",
        ),
        (
            "Статус заказа (RU)",
            "Здравствуйте, {{name}}! Заказ №{{order}} передан в доставку, курьер привезёт его в течение двух рабочих дней. Ссылка на отслеживание придёт на почту вечером.",
        ),
        (
            "Delivery times (EN)",
            "Delivery takes 2–4 working days and is free on orders over €50. Order before 2 pm and we ship the same day; next-day express is €9.90.",
        ),
        (
            "Сроки доставки (RU)",
            "Доставка занимает 2–4 рабочих дня, от 5000 ₽ — бесплатно. Если оформить до 14:00, отправим в тот же день; экспресс на следующий день — 490 ₽.",
        ),
        (
            "Returns (EN)",
            "You can return anything within 30 days (sale items within 14), tags on: print the label at prontoshop.example/returns and drop the parcel at any post office. The refund arrives 3–5 days after we receive it.",
        ),
        (
            "Возврат (RU)",
            "Вернуть товар можно в течение 30 дней (со скидкой — 14), с бирками: распечатайте этикетку на prontoshop.example/returns и сдайте посылку в любом отделении. Деньги вернутся через 3–5 дней после получения.",
        ),
        (
            "Size advice (EN)",
            "Our sizes are true to size; if you're between two, take the smaller for a relaxed fit. All measurements are on the product page, and exchanges are free within 30 days.",
        ),
        (
            "Подбор размера (RU)",
            "Модели в размер; если сомневаетесь между двумя, для свободной посадки берите меньший. Все замеры — на странице товара, обмен бесплатный в течение 30 дней.",
        ),
        (
            "Payment hold (EN)",
            "Don't worry — a declined payment is only a hold, not a charge; your bank releases it within 3 days. Here is a new payment link: prontoshop.example/pay/{{order}}",
        ),
        (
            "Блокировка оплаты (RU)",
            "Не волнуйтесь — при неудачной оплате деньги только заблокированы, банк снимет блокировку в течение 3 дней. Новая ссылка на оплату: prontoshop.example/pay/{{order}}",
        ),
        (
            "Closing (EN)",
            "Happy to help, {{name}}! If anything else comes up, just write here. Have a great day 😊",
        ),
        (
            "Завершение (RU)",
            "Рады помочь, {{name}}! Если появятся вопросы — пишите сюда. Хорошего дня 😊",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        let mut rng = Rng::new(1);
        for lang in [Lang::En, Lang::Ru] {
            for topic in TOPICS {
                for i in 0..topic.exchange_count(lang) {
                    let name = person_name(&mut rng, lang);
                    let p = Particulars::draw(&mut rng, &name);
                    let (q, a) = topic.exchange(lang, i);
                    let (fq, fa) = topic.follow_up(lang, i);
                    for text in [q, a, fq, fa] {
                        let filled = p.fill(text, lang);
                        assert!(!filled.contains('{'), "{} / {lang:?}: {filled}", topic.name);
                        assert_eq!(Lang::of_text(&filled), lang, "{filled}");
                    }
                }
            }
            for lines in [&MORE, &NUDGES, &THANKS, &CLOSERS] {
                for text in lines[lang.index()] {
                    let p = Particulars::draw(&mut rng, "Sam Hall");
                    assert!(!p.fill(text, lang).contains('{'));
                }
            }
        }
    }

    #[test]
    fn every_topic_speaks_both_languages_alike() {
        for topic in TOPICS {
            assert_eq!(
                topic.exchange_count(Lang::En),
                topic.exchange_count(Lang::Ru),
                "{}",
                topic.name
            );
        }
        assert_eq!(Lang::of_text("Привет"), Lang::Ru);
        assert_eq!(Lang::of_text("Hi 👍"), Lang::En);
    }

    #[test]
    fn templates_come_in_pairs() {
        let templates = demo_templates();
        assert_eq!(templates.len() % 2, 0);
        for pair in templates.chunks(2) {
            assert_eq!(Lang::of_text(pair[0].1), Lang::En);
            assert_eq!(Lang::of_text(pair[1].1), Lang::Ru);
        }
    }
}
