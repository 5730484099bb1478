/** Working hours in a time zone: `HH:MM-HH:MM` on some weekdays (an end before the start spans midnight). */
export interface WorkingHours {
  readonly timezone: string;
  readonly hours: string;
  readonly days: readonly string[];
}

/** Whether `ms` falls inside the working hours, read on the wall clock of their time zone. */
export function withinWorkingHours(ms: number, wh: WorkingHours): boolean {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: wh.timezone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(ms);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const minute = Number(part('hour')) * 60 + Number(part('minute'));
  const [start = 0, end = 0] = wh.hours.split('-').map((hm) => {
    const [h, m] = hm.split(':').map(Number);
    return (h ?? 0) * 60 + (m ?? 0);
  });
  const inTime = start <= end ? minute >= start && minute < end : minute >= start || minute < end;
  return inTime && wh.days.includes(part('weekday'));
}
