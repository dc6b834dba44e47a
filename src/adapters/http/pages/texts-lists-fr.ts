import type { LISTS_EN } from './texts-lists-en.ts';

/** Textes français des filtres des pages Courrier et Journal, et du tableau de bord. */
export const LISTS_FR: Record<keyof typeof LISTS_EN, string> = {
  'mail.filters': 'Rechercher un courriel',
  'mail.search': 'Le destinataire contient',
  'filter.from': 'Du (jour UTC)',
  'filter.to': 'Au (jour UTC)',
  'list.newest': 'Les plus récents',
  'audit.filters': 'Rechercher dans le journal',
  'audit.filter.actor': 'Qui (contient)',
  'audit.filter.action': 'Action (commence par)',
  'audit.filter.user': 'Utilisateur (adresse SIP, courriel ou nom)',
  'audit.none': 'Rien d’enregistré ne correspond.',
  'audit.cliOn': '{user} sur {host}',
  'audit.via.admin': '(centre d’administration)',
  'audit.via.sso': '(authentification unique)',
  'audit.via.user': '(page de paramètres)',
  'audit.via.token': '(jeton d’API)',
  'audit.via.cli': '(ligne de commande)',
  'audit.via.directory': 'Synchronisation de l’annuaire',
  'audit.via.other': '',
};
