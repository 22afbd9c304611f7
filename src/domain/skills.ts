// Skill names compared the same way everywhere: a WBS, a package edit and an engineer's profile.

/** NFKC (full-width letters become ASCII), trimmed, lower-case: "Ｊａｖａ " and "java" are one skill. */
export function normalizeSkillName(name: string): string {
  return name.normalize("NFKC").trim().toLowerCase();
}

/** Normalized names, one entry per skill, keeping the higher level when a name repeats. */
export function normalizeSkills(
  skills: readonly { skill: string; level: number }[],
): { skill: string; level: number }[] {
  const levels = new Map<string, number>();
  for (const s of skills) {
    const name = normalizeSkillName(s.skill);
    levels.set(name, Math.max(s.level, levels.get(name) ?? 0));
  }
  return [...levels].map(([skill, level]) => ({ skill, level }));
}
