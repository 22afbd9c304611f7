// What the domain needs from a place that keeps a package's canonical repository; every forge passes
// forge.contract.ts (the built-in one over real git, GitHub against replayed API responses).

/** What a package's repository is made from. */
export interface RepositorySpec {
  tenantId: string;
  packageId: string;
  /** Shown to people: the package's WBS id and title. */
  title: string;
  /**
   * A repository in the tenant's import folder (import-source.ts) whose default branch seeds the repository;
   * a source that is not there is an error, never a first commit. None: a first commit.
   */
  seed?: string | null;
}

/** Where a repository lives on its forge. */
export interface RepositoryInfo {
  /** A path below the data directory for the built-in forge, `org/name` on GitHub. */
  name: string;
  defaultBranch: string;
}

/** A forge: the built-in one (bare repositories on this machine) or GitHub. */
export interface Forge {
  readonly kind: "builtin" | "github";
  /** Makes the repository with a first commit on its default branch; a second call returns the same one. */
  createRepository(spec: RepositorySpec): Promise<RepositoryInfo>;
  /** The commit a branch points at, or null when the branch does not exist. */
  headOf(repo: RepositoryInfo, branch: string): Promise<string | null>;
  /** Lets only reviewed work reach the default branch: `requiredApprovals` approvals of a lead. */
  protectDefaultBranch(repo: RepositoryInfo, rule: { requiredApprovals: number }): Promise<void>;
  /** The rule protectDefaultBranch set, or null when the default branch is unprotected. */
  protection(repo: RepositoryInfo): Promise<{ requiredApprovals: number } | null>;
  /** Gives an engineer the least access that lets them push branches and open pull requests. */
  grantEngineer(repo: RepositoryInfo, engineer: { login: string }): Promise<void>;
  /** Who holds such access. */
  engineers(repo: RepositoryInfo): Promise<string[]>;
}
