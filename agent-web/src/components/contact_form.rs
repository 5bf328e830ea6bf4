//! The inline editor of a visitor's contact in the profile: name, email,
//! phone (the name and email stay as they are for a verified identity),
//! with the reason when it was not saved.

use crate::state::{Action, ContactAction, ContactEdit, ContactField};
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// What the editor says, in one place (a translation replaces this).
mod say {
    pub const NAME: &str = "Name";
    pub const EMAIL: &str = "E-mail";
    pub const PHONE: &str = "Phone";
    pub const SAVE: &str = "Save contact";
    pub const SAVING: &str = "Saving…";
    pub const CANCEL: &str = "Cancel";
    pub const VERIFIED: &str =
        "The name and e-mail come from the site's verified login: change them there.";
    pub const CLEARS: &str = "An emptied box clears what was stored.";
}

#[derive(Properties, PartialEq)]
pub struct ContactFormProps {
    pub edit: ContactEdit,
    pub dispatch: Callback<Action>,
}

#[function_component]
pub fn ContactForm(p: &ContactFormProps) -> Html {
    let e = &p.edit;
    let d = &p.dispatch;
    let field = |f: ContactField| {
        d.reform(move |ev: InputEvent| {
            let v = ev.target_unchecked_into::<HtmlInputElement>().value();
            Action::Contact(ContactAction::Field(f, v))
        })
    };
    let onsubmit = d.reform(|ev: SubmitEvent| {
        ev.prevent_default();
        Action::Contact(ContactAction::Save)
    });
    html! {
        <form class="contact-form" novalidate=true data-visitor={e.visitor.to_string()} {onsubmit}>
            <label>{ say::NAME }
                <input name="name" value={e.name.clone()} disabled={e.verified} autocomplete="off"
                    oninput={field(ContactField::Name)} /></label>
            <label>{ say::EMAIL }
                <input name="email" type="email" inputmode="email" value={e.email.clone()} disabled={e.verified}
                    autocomplete="off" oninput={field(ContactField::Email)} /></label>
            <label>{ say::PHONE }
                <input name="phone" type="tel" inputmode="tel" value={e.phone.clone()} autocomplete="off"
                    oninput={field(ContactField::Phone)} /></label>
            <p class="hint">{ if e.verified { say::VERIFIED } else { say::CLEARS } }</p>
            if let Some(err) = &e.error { <p class="error" role="alert">{ err }</p> }
            <div class="row">
                <button class="primary" type="submit" disabled={e.saving}>{ if e.saving { say::SAVING } else { say::SAVE } }</button>
                <button type="button" onclick={d.reform(|_| Action::Contact(ContactAction::Cancel))}>{ say::CANCEL }</button>
            </div>
        </form>
    }
}
