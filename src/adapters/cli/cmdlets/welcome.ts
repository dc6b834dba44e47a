import { TEMPLATE_VARIABLES } from '../../../core/templates/variables.ts';
import { INVITATION_MARKER } from '../../../core/templates/invitation.ts';
import { bool, TENANT_PARAM, type CmdletDef } from '../cmdlet.ts';

export const welcomeCmdlets: CmdletDef[] = [
  {
    name: 'Set-CsPinSendCAWelcomeMail',
    synopsis:
      "Sets a user's initial PIN and e-mails a welcome with the PIN, conference ID, access numbers and the settings page link, through the given SMTP relay. A user who has a PIN keeps it (no mail) unless -Force. Runs over a group with progress and a report; a second run of the same command finishes an interrupted one.",
    params: [
      { name: 'UserUri', type: 'identities', mandatory: true, position: 0, help: 'The user (bob@contoso.com), a comma list, or @FILE (one user a line, or a CSV with a UserUri column).' },
      { name: 'From', type: 'string', mandatory: true, help: 'Sender address (or "Name <address>").' },
      { name: 'Subject', type: 'string', help: 'Subject; default "Welcome to Dial-In Conferencing" ("Bienvenue dans les conférences rendez-vous" for French users).' },
      { name: 'UserEmailAddress', type: 'string', help: "Send to this address instead of the user's (one user only)." },
      { name: 'Cc', type: 'list', help: 'Copy recipients.' },
      { name: 'Bcc', type: 'list', help: 'Blind copy recipients (envelope only, never in a header).' },
      { name: 'TemplatePath', type: 'string', help: 'An HTML template file (a text file with -BodyAsPlainText) using the placeholders below; checked before any PIN changes.' },
      { name: 'SmtpServer', type: 'string', help: 'Relay as host or host:port (default port 25); default: the PSEmailServer environment variable.' },
      { name: 'BodyAsPlainText', type: 'switch', help: 'Send text only, no HTML part.' },
      { name: 'UseSsl', type: 'switch', help: 'Require STARTTLS (implicit TLS on port 465). Certificates are always verified; a private CA is given in DIALIN_SMTP_CA_FILE.' },
      { name: 'Pin', type: 'string', help: 'The PIN to set (digits, checked against the PIN policy); one user only. Default: a generated PIN.' },
      { name: 'Force', type: 'switch', help: 'Replace a PIN the user already has.' },
      { name: 'Credential', type: 'string', help: 'SMTP user name; the password is asked without echo, or read from DIALIN_SMTP_PASSWORD or --password-file FILE. Requires TLS.' },
      TENANT_PARAM,
    ],
    extraOptions: ['--dry-run', '--password-file'],
    notes: {
      title: 'Template placeholders',
      text: Object.entries(TEMPLATE_VARIABLES)
        .map(([k, v]) => `{{ ${k} }}`.padEnd(28) + v)
        .concat(['', 'Only these, without properties (except the items of a list); {% if tollFreeNumber %}…{% endif %} and {% for n in numbers %}<a href="{{ n.tel }}">{{ n.dial }}</a>{% endfor %} are allowed. In an HTML template every value is escaped.', `${INVITATION_MARKER} shows the invitation block (numbers with one-tap links, the conference ID, Find a local number): the tenant's template of kind invitation (dialin template set invitation <language> html|text FILE), or the built-in one.`])
        .join('\n'),
    },
    examples: [
      { command: 'Set-CsPinSendCAWelcomeMail -UserUri "bob@contoso.com" -From "marco@contoso.com"', effect: 'Creates a PIN for Bob (if he has none) and sends him the default HTML welcome from Marco through PSEmailServer.' },
      {
        command: 'Set-CsPinSendCAWelcomeMail -UserUri "bob@contoso.com" -From "marco@contoso.com" -Subject "Your new dial-in conferencing PIN" -Pin "383042650" -Force -Credential Admin@contoso.com -UseSsl',
        effect: 'Sets the PIN 383042650 even though Bob has one, and sends the welcome over STARTTLS, logged in as Admin (the password is asked).',
      },
      { command: 'Set-CsPinSendCAWelcomeMail -UserUri @newhires.csv -From "it@contoso.com" -SmtpServer smtp.contoso.com:587 -UseSsl -Credential it@contoso.com --password-file /run/secrets/smtp --report welcome.csv', effect: 'Welcomes a group with progress and a report; run it again after Ctrl-C to finish.' },
      { command: 'Set-CsPinSendCAWelcomeMail -UserUri @newhires.csv -From "it@contoso.com" -Force --dry-run', effect: 'Lists who would get a new PIN and a mail; changes nothing.' },
    ],
    // The implementation pulls in nodemailer, Liquid and the delivery worker: load it on use only.
    run: async (io, p) => (await import('./welcome-run.ts')).welcome(io, p),
  },
];
