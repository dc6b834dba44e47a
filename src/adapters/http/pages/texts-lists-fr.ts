import type { LISTS_EN } from './texts-lists-en.ts';

/** Textes français des filtres des pages Courrier et Journal, et du tableau de bord. */
export const LISTS_FR: Record<keyof typeof LISTS_EN, string> = {
  'mail.filters': 'Rechercher un courriel',
  'mail.search': 'Le destinataire contient',
  'filter.from': 'Du (jour UTC)',
  'filter.to': 'Au (jour UTC)',
  'list.newest': 'Les plus récents',
};
