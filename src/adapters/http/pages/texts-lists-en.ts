/** English texts of the Mail and audit pages' filters and of the dashboard; spread into texts-en.ts. */
export const LISTS_EN = {
  'mail.filters': 'Find mail',
  'mail.search': 'Recipient contains',
  'filter.from': 'From (UTC day)',
  'filter.to': 'To (UTC day)',
  'list.newest': 'Newest',
} as const;
