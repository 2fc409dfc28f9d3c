import type { Manifest } from '../../harness/chart/helm.js';

/**
 * Minimal stand-ins for cert-manager's Issuer and Certificate CRDs (cert-manager is not part of
 * the test control plane). Structural schemas covering only the fields the chart uses, so a server
 * side dry run with strict field validation still catches a misspelt or mistyped field in the
 * chart's cert-manager objects. Field names and enums follow cert-manager.io/v1.
 */
const duration = { type: 'string' };

function crd(kind: string, plural: string, spec: Record<string, unknown>): Manifest {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.cert-manager.io` },
    spec: {
      group: 'cert-manager.io',
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', properties: { spec } } },
        },
      ],
    },
  };
}

export const certManagerCrds: readonly Manifest[] = [
  crd('Issuer', 'issuers', {
    type: 'object',
    properties: {
      selfSigned: { type: 'object', properties: { crlDistributionPoints: { type: 'array', items: { type: 'string' } } } },
      ca: { type: 'object', required: ['secretName'], properties: { secretName: { type: 'string' } } },
    },
  }),
  crd('Certificate', 'certificates', {
    type: 'object',
    required: ['secretName', 'issuerRef'],
    properties: {
      secretName: { type: 'string' },
      commonName: { type: 'string' },
      dnsNames: { type: 'array', items: { type: 'string' } },
      duration,
      renewBefore: duration,
      privateKey: {
        type: 'object',
        properties: {
          algorithm: { type: 'string', enum: ['RSA', 'ECDSA', 'Ed25519'] },
          size: { type: 'integer' },
          rotationPolicy: { type: 'string', enum: ['Never', 'Always'] },
        },
      },
      usages: {
        type: 'array',
        items: {
          type: 'string',
          enum: [
            'signing', 'digital signature', 'content commitment', 'key encipherment', 'key agreement',
            'data encipherment', 'cert sign', 'crl sign', 'encipher only', 'decipher only', 'any',
            'server auth', 'client auth', 'code signing', 'email protection', 's/mime', 'ipsec end system',
            'ipsec tunnel', 'ipsec user', 'timestamping', 'ocsp signing', 'microsoft sgc', 'netscape sgc',
          ],
        },
      },
      issuerRef: {
        type: 'object',
        required: ['name'],
        properties: { name: { type: 'string' }, kind: { type: 'string' }, group: { type: 'string' } },
      },
    },
  }),
];
