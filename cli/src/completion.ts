/**
 * `weir completion bash|zsh`: a completion script for the shell, written from the same command and
 * option tables main.ts parses with, so completion never offers an option the parser refuses.
 * Install: `source <(weir completion bash)`, or for zsh `source <(weir completion zsh)`.
 */
import { UsageError } from './args.js';

export type CommandTable = Readonly<Record<string, readonly string[]>>;

function bash(program: string, commands: CommandTable): string {
  const fn = `_${program.replace(/[^A-Za-z0-9]/g, '_')}_complete`;
  const cases = Object.entries(commands)
    .map(([command, words]) => `    ${command}) words="${words.join(' ')}" ;;`)
    .join('\n');
  return `# bash completion for ${program}; load with: source <(${program} completion bash)
${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} command=\${COMP_WORDS[1]} words
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${Object.keys(commands).join(' ')}" -- "$cur"))
    return
  fi
  case "$command" in
${cases}
    *) words="" ;;
  esac
  case "\${COMP_WORDS[COMP_CWORD-1]}" in
    -o|--output) COMPREPLY=($(compgen -W "json yaml wide" -- "$cur")); return ;;
    --verdict) COMPREPLY=($(compgen -W "allowed dropped" -- "$cur")); return ;;
    --kubeconfig) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F ${fn} ${program}
`;
}

export function completionScript(shell: string | undefined, program: string, commands: CommandTable): string {
  switch (shell) {
    case 'bash':
      return bash(program, commands);
    case 'zsh':
      // zsh runs bash completion functions through bashcompinit.
      return `autoload -U +X bashcompinit && bashcompinit\n${bash(program, commands)}`;
    default:
      throw new UsageError(`weir completion needs a shell: bash or zsh, got ${JSON.stringify(shell ?? '')}`);
  }
}
