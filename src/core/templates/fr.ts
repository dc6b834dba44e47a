import type { LanguagePack } from './layout.ts';

const PIN_SAME = "Votre code PIN d'organisateur n'a pas changé. Continuez à utiliser celui que vous avez ; si vous l'avez oublié, choisissez-en un nouveau sur la page des paramètres.";

const HOW = "Appelez l'un des numéros ci-dessus et saisissez l'ID de conférence {{ conferenceIdGrouped }} (les chiffres, puis #). Pour démarrer la réunion en tant qu'organisateur, appuyez ensuite sur *, saisissez votre code PIN d'organisateur puis #. Sur un téléphone, toucher un numéro l'appelle et saisit l'ID pour vous.";
const WHY = "{% if provider.name %}Vos réunions passent maintenant par {{ provider.name }}.{% if provider.tollNumber %} Vos participants appellent le {{ provider.tollNumber }}{% if provider.tollFreeNumbers %} (gratuit : {{ provider.tollFreeNumbers }}){% endif %}{% if provider.passcode %} puis saisissent le code {{ provider.passcode }}{% endif %}.{% endif %}{% if provider.url %} Plus d'informations : {{ provider.url }}{% endif %}{% else %}Votre administrateur a supprimé votre licence d'audioconférence.{% endif %} Aucun code PIN ne fonctionne plus ; retirez les anciennes informations des invitations que vous avez envoyées.";

/** Textes français des modèles par défaut (rédaction propre). */
export const FR: LanguagePack = {
  lang: 'fr',
  colon: ' : ',
  labels: {
    name: 'Nom',
    account: 'Compte',
    conferenceId: 'ID de conférence',
    tollNumber: "Numéro d'appel",
    tollFreeNumber: 'Numéro gratuit',
    none: 'aucun',
    pin: "Code PIN d'organisateur",
    bridge: 'Pont de conférence',
    changed: 'Ce qui a changé',
    openSettings: 'Ouvrir vos paramètres',
    signIn: 'Se connecter',
    resetPin: 'Changer de code PIN',
    settings: 'Gérez votre code PIN sur la page Paramètres de conférence téléphonique :',
    localNumbers: 'Trouver un numéro local',
    localNumbersHint: "tous les numéros d'accès par pays et par ville, sans connexion",
  },
  footer: "Ce message a été envoyé automatiquement par le service de conférence téléphonique. Les réponses ne sont pas lues ; en cas de doute, adressez-vous à votre administrateur.",
  kinds: {
    welcome: {
      subject: 'Vos informations de conférence téléphonique et votre code PIN',
      title: 'Vous pouvez désormais organiser des réunions par téléphone',
      lead: "Bonjour {{ displayName }}, la conférence téléphonique a été activée pour vous. Vos participants rejoignent vos réunions en appelant l'un des numéros ci-dessous puis en saisissant votre ID de conférence.",
      sections: [
        { heading: 'Vos informations de conférence', show: 'details' },
        { heading: 'Rejoindre par téléphone', body: HOW },
        { heading: 'Pour vos invitations', show: 'invitation', body: 'Collez ces lignes dans les invitations des réunions que vous organisez, pour que chacun puisse rejoindre par téléphone :' },
        {
          heading: "Votre code PIN d'organisateur",
          show: 'pin',
          body: "Lorsque vous appelez une réunion que vous avez organisée et que personne ne l'a encore rejointe, saisissez ce code pour la démarrer. Ne le communiquez à personne ; vous pouvez en choisir un autre à tout moment sur la page des paramètres.",
        },
      ],
    },
    pin_changed: {
      subject: 'Votre code PIN de conférence téléphonique a changé',
      title: "Votre code PIN d'organisateur a changé",
      lead: "Bonjour {{ displayName }}, votre administrateur vous a attribué un nouveau code PIN d'organisateur. L'ancien ne fonctionne plus.",
      sections: [
        { heading: 'Votre nouveau code PIN', show: 'pin', body: 'Saisissez-le lorsque vous appelez pour démarrer une réunion que vous avez organisée. Ne le communiquez à personne.' },
        { heading: "Votre ID de conférence et vos numéros n'ont pas changé", show: 'details' },
        { heading: 'Rejoindre par téléphone', body: HOW },
      ],
    },
    info_changed: {
      subject: 'Vos informations de conférence téléphonique ont changé',
      title: 'Vos informations de conférence ont changé',
      lead: "Bonjour {{ displayName }}, votre ID de conférence ou vos numéros d'appel ont changé. Utilisez désormais les informations ci-dessous et mettez à jour les invitations déjà envoyées.",
      sections: [
        { heading: 'Ce qui a changé', show: 'changes' },
        { heading: 'Vos nouvelles informations de conférence', show: 'details' },
        { heading: "Votre code PIN n'a pas changé", body: PIN_SAME },
      ],
    },
    turned_off: {
      // Few accented e: SpamAssassin's MIXED_ES counts them against the plain ones.
      subject: 'Fin de votre accès aux réunions par téléphone',
      title: 'Votre accès aux réunions par téléphone est coupé',
      lead: "Bonjour {{ displayName }}, votre compte ne permet plus de rejoindre vos réunions par un appel. Les numéros et l'ID ci-dessous ne servent plus.",
      sections: [
        { heading: 'Informations qui ne fonctionnent plus', show: 'details' },
        { heading: 'Pourquoi', body: WHY },
      ],
    },
    conference_info: {
      subject: 'Vos informations de conférence téléphonique',
      title: 'Vos informations de conférence téléphonique',
      lead: "Bonjour {{ displayName }}, voici vos informations de conférence téléphonique, envoyées à la demande de votre administrateur. Rien n'a changé.",
      sections: [
        { heading: 'Vos informations de conférence', show: 'details' },
        { heading: "Votre code PIN n'a pas changé", body: PIN_SAME },
      ],
    },
    sign_in_link: {
      subject: 'Votre lien de connexion aux paramètres de conférence téléphonique',
      title: 'Connectez-vous à vos paramètres de conférence',
      lead: "Bonjour {{ displayName }}, vous avez demandé à vous connecter à la page Paramètres de conférence téléphonique. Ouvrez le lien à la fin de ce message dans les 15 minutes ; il ne sert qu'une fois. Si vous n'avez rien demandé, ignorez ce message : rien ne change.",
      sections: [
        { heading: 'Vos informations de conférence', show: 'details' },
        { heading: 'Ce que fait ce lien', body: "Ce lien sert seulement à vous connecter. Sur la page, vous trouverez tous les numéros d'accès et pourrez choisir un nouveau code PIN." },
      ],
    },
    pin_changed_by_user: {
      subject: 'Votre code PIN de conférence téléphonique a été changé',
      title: "Votre code PIN d'organisateur a été changé",
      lead: "Bonjour {{ displayName }}, votre code PIN d'organisateur a été changé sur la page Paramètres de conférence téléphonique. L'ancien code ne fonctionne plus. Ce message ne contient pas le nouveau code.",
      sections: [
        {
          heading: "Si ce n'était pas vous",
          body: "Quelqu'un s'est peut-être connecté à votre page de paramètres avec un lien envoyé dans votre boîte aux lettres. Choisissez dès maintenant un nouveau code PIN sur la page des paramètres (Changer de code PIN), puis prévenez votre administrateur, qui peut verrouiller votre code le temps de régler le problème. Si c'était vous, vous n'avez rien d'autre à faire.",
        },
        { heading: "Votre ID de conférence et vos numéros n'ont pas changé", show: 'details' },
      ],
    },
  },
};
