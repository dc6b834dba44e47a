import type { LanguagePack } from './layout.ts';

const PIN_SAME = 'Your leader PIN has not changed. Keep using the one you have; if you have forgotten it, choose a new one on the settings page.';

const HOW = 'Call one of the numbers above and enter the conference ID {{ conferenceIdGrouped }} (the digits, then #). To start the meeting as its leader, then press *, enter your leader PIN and press #. On a phone, tapping a number dials it and enters the ID for you.';
const WHY = '{% if provider.name %}Your dial-in conferencing is now provided by {{ provider.name }}.{% if provider.tollNumber %} Callers dial {{ provider.tollNumber }}{% if provider.tollFreeNumbers %} (toll-free: {{ provider.tollFreeNumbers }}){% endif %}{% if provider.passcode %} and enter the passcode {{ provider.passcode }}{% endif %}.{% endif %}{% if provider.url %} More: {{ provider.url }}{% endif %}{% else %}Your administrator removed your audio conferencing licence.{% endif %} No PIN works any more; remove the old details from meeting invitations you have sent.';

/** English texts of the default templates (our own wording). */
export const EN: LanguagePack = {
  lang: 'en',
  colon: ': ',
  labels: {
    name: 'Name',
    account: 'Account',
    conferenceId: 'Conference ID',
    tollNumber: 'Dial-in number',
    tollFreeNumber: 'Toll-free number',
    none: 'none',
    pin: 'Leader PIN',
    bridge: 'Conference bridge',
    changed: 'What changed',
    openSettings: 'Open your settings',
    signIn: 'Sign in',
    resetPin: 'Reset PIN',
    settings: 'Manage your PIN on the Dial-in Conferencing Settings page:',
    localNumbers: 'Find a local number',
    localNumbersHint: 'every access number by country and city, no sign-in',
  },
  footer: 'This message was sent automatically by the dial-in conferencing service. Replies are not read; if something looks wrong, contact your administrator.',
  kinds: {
    welcome: {
      subject: 'Your dial-in conferencing details and PIN',
      title: 'You can now hold meetings by phone',
      lead: 'Hello {{ displayName }}, dial-in conferencing has been set up for you. People can join your meetings by calling a number below and entering your conference ID.',
      sections: [
        { heading: 'Your dial-in details', show: 'details' },
        { heading: 'How to join by phone', body: HOW },
        { heading: 'For your meeting invitations', show: 'invitation', body: 'Paste these lines into the invitations of meetings you organise, so people can join by phone:' },
        {
          heading: 'Your leader PIN',
          show: 'pin',
          body: 'When you call in to a meeting you organised and nobody has joined yet, enter this PIN to start it. Keep it to yourself; you can choose another one on the settings page at any time.',
        },
      ],
    },
    pin_changed: {
      subject: 'Your dial-in conferencing PIN has changed',
      title: 'Your leader PIN has changed',
      lead: 'Hello {{ displayName }}, your administrator has given you a new leader PIN. The old one no longer works.',
      sections: [
        { heading: 'Your new leader PIN', show: 'pin', body: 'Enter it when you call in to start a meeting you organised. Keep it to yourself.' },
        { heading: 'Your conference ID and numbers have not changed', show: 'details' },
        { heading: 'How to join by phone', body: HOW },
      ],
    },
    info_changed: {
      subject: 'Your dial-in conferencing details have changed',
      title: 'Your dial-in details have changed',
      lead: 'Hello {{ displayName }}, your conference ID or your dial-in numbers have changed. Use the details below from now on, and update any meeting invitations you sent with the old ones.',
      sections: [
        { heading: 'What changed', show: 'changes' },
        { heading: 'Your new dial-in details', show: 'details' },
        { heading: 'Your PIN has not changed', body: PIN_SAME },
      ],
    },
    turned_off: {
      subject: 'Dial-in conferencing has been turned off for you',
      title: 'Dial-in conferencing is turned off',
      lead: 'Hello {{ displayName }}, dial-in conferencing has been turned off for your account. People can no longer join your meetings by phone with the details below.',
      sections: [
        { heading: 'Details that no longer work', show: 'details' },
        { heading: 'Why', body: WHY },
      ],
    },
    conference_info: {
      subject: 'Your dial-in conferencing details',
      title: 'Your dial-in conferencing details',
      lead: 'Hello {{ displayName }}, here are your dial-in details, sent at the request of your administrator. Nothing has changed.',
      sections: [
        { heading: 'Your dial-in details', show: 'details' },
        { heading: 'Your PIN has not changed', body: PIN_SAME },
      ],
    },
    sign_in_link: {
      subject: 'Your sign-in link for the Dial-in Conferencing Settings page',
      title: 'Sign in to your dial-in settings',
      lead: 'Hello {{ displayName }}, you asked to sign in to the Dial-in Conferencing Settings page. Open the link at the end of this message within 15 minutes; it works once. If you did not ask for it, ignore this message: nothing changes.',
      sections: [
        { heading: 'Your dial-in details', show: 'details' },
        { heading: 'What this link does', body: 'This link only signs you in. On the page you can see every access number and choose a new PIN.' },
      ],
    },
    pin_changed_by_user: {
      subject: 'Your dial-in conferencing PIN was changed',
      title: 'Your leader PIN was changed',
      lead: 'Hello {{ displayName }}, your leader PIN was changed on the Dial-in Conferencing Settings page. The old PIN no longer works. This message does not contain the new PIN.',
      sections: [
        {
          heading: 'If it was not you',
          body: 'Someone may have signed in to your settings page with a link sent to your mailbox. Choose a new PIN on the settings page now (Reset PIN), then tell your administrator, who can lock your PIN until it is sorted out. If it was you, nothing more to do.',
        },
        { heading: 'Your conference ID and numbers have not changed', show: 'details' },
      ],
    },
  },
};
