/** A WSUS SoftwareDistribution.log with good and bad entries, shared by the unit and integration tests. */

export interface FixtureEntry {
  /** Physical lines of the entry. */
  lines: string[];
  expect: { signature?: string } | { kind: string; reason: string };
}

const STACK = [
  "   at System.Collections.Hashtable.Insert(Object key, Object nvalue, Boolean add)",
  "   at System.Collections.Hashtable.Add(Object key, Object value)",
  "   at Microsoft.UpdateServices.Internal.ClientImplementation.SyncUpdates(Cookie cookie, SyncUpdateParameters parameters)",
];

export function mixedWsusFixture(): FixtureEntry[] {
  return [
    {
      lines: [
        "2008-07-01 00:00:05.500 UTC\tInfo\tw3wp.5\tClientImplementation..ctor\tMicrosoft.UpdateServices.WebServices.Client.Dll version 3.1.6001.65",
      ],
      expect: { signature: "ms-954960-server-unfixed-version" },
    },
    {
      lines: [
        "2008-07-01 00:15:40.175 UTC\tError\tw3wp.12\tClientImplementation.SyncUpdates\tSystem.ArgumentException: Item has already been added. Key in dictionary: '8862'  Key being added: '8862'",
        ...STACK,
      ],
      expect: { signature: "ms-954960-server-duplicate-key" },
    },
    {
      lines: ["2008-07-01 00:15:40.176 UTC\tWarning\tw3wp.12\tSoapUtilities.CreateException"],
      expect: {},
    },
    {
      lines: ["2008-02-30 00:15:40.176 UTC\tInfo\tw3wp.12\tClient.GetCookie\tcookie"],
      expect: { kind: "time", reason: "impossible date or time" },
    },
    {
      lines: ["2008-07-01 00:16:00.000 UTC  garbled entry"],
      expect: { kind: "format", reason: "expected WSUS SoftwareDistribution.log" },
    },
    {
      lines: [
        "2008-07-01 03:07:45.001 UTC\tInfo\tWsusService.10\tCatalogSyncAgentCore.ExecuteSyncProtocol\tSynchronization completed successfully: 3 new updates",
      ],
      expect: {},
    },
    {
      lines: [
        "2008-07-10 01:34:02.500 UTC\tInfo\tw3wp.5\tClientImplementation..ctor\tMicrosoft.UpdateServices.WebServices.Client.Dll version 3.1.6001.66",
      ],
      expect: { signature: "ms-954960-server-fix-installed" },
    },
  ];
}

/** The file's text (CRLF, as on Windows), and each entry's first line number. */
export function fixtureFile(entries: FixtureEntry[]): { text: string; firstLines: number[] } {
  const firstLines: number[] = [];
  const lines: string[] = [];
  for (const entry of entries) {
    firstLines.push(lines.length + 1);
    lines.push(...entry.lines);
  }
  return { text: `${lines.join("\r\n")}\r\n`, firstLines };
}
