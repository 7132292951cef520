import { describe, expect, it } from "vitest";
import { emailContent, escapeMarkdown, incidentView, messageIdFor, singleLine } from "./payload.ts";
import { sampleDelivery, sampleIncident } from "./testing/receivers.ts";

describe("incident view", () => {
  it("reads today's incident without the fields being added, falling back to the asset's owner", () => {
    const view = incidentView(sampleDelivery());
    expect(view.urgency).toBeUndefined();
    expect(view.escalationLevel).toBeUndefined();
    expect(view.owner).toEqual({ organisation: "Finance IT", contacts: [] });
    expect(view.observables).toEqual([
      { type: "ip", value: "10.0.0.5" },
      { type: "hostname", value: "db-01.corp.example" },
      { type: "cve", value: "CVE-2024-6387" },
    ]);
  });

  it("reads urgency, owner, escalation, SLA and observables when present", () => {
    const view = incidentView(
      sampleDelivery(
        "k",
        sampleIncident({
          urgency: "critical",
          owner: {
            organisation: "Plant OT",
            contacts: [
              { email: "ot-oncall@corp.example" },
              { name: "Bo", phone: "+1 555" },
              { role: "duty officer" },
            ],
          },
          escalation: { level: 2, started_at: "2026-03-01T10:02:05Z", plan: [] },
          sla: { due: "2026-03-01T14:02:05Z", breached: false },
          observables: [
            { type: "user", value: "root" },
            { type: "ip", value: "10.0.0.5" },
          ],
        }),
      ),
    );
    expect(view).toMatchObject({
      urgency: "critical",
      owner: { organisation: "Plant OT", contacts: ["ot-oncall@corp.example", "Bo", "duty officer"] },
      escalationLevel: 2,
      slaDue: "2026-03-01T14:02:05Z",
    });
    expect(view.observables).toEqual([
      { type: "user", value: "root" },
      { type: "ip", value: "10.0.0.5" },
      { type: "hostname", value: "db-01.corp.example" },
      { type: "cve", value: "CVE-2024-6387" },
    ]);
  });
});

describe("escaping", () => {
  it("singleLine removes CR, LF and other control characters", () => {
    expect(singleLine("a\r\nBcc: x@y\u0000\u2028z")).toBe("a Bcc: x@y z");
  });

  it("escapeMarkdown leaves no active markdown or HTML", () => {
    expect(escapeMarkdown("[x](javascript:alert(1)) <b>*hi*</b>")).toBe(
      "\\[x\\]\\(javascript:alert\\(1\\)\\) &lt;b&gt;\\*hi\\*&lt;/b&gt;",
    );
  });

  it("the email subject is one line and the HTML part escapes the incident's strings", () => {
    const content = emailContent(
      incidentView(
        sampleDelivery(
          "k",
          sampleIncident({ title: "x\r\nBcc: a@b <i>y</i>", explanation: "<a href=x>z</a>" }),
        ),
      ),
      "https://c.example/{id}",
    );
    expect(content.subject).toBe("[Vigil high] Created: x Bcc: a@b <i>y</i>");
    expect(content.html).toContain("<h2>x\r\nBcc: a@b &lt;i&gt;y&lt;/i&gt;</h2>");
    expect(content.html).toContain("&lt;a href=x&gt;z&lt;/a&gt;");
  });

  it("the Message-ID is a function of the key alone", () => {
    expect(messageIdFor("k1", "soc.example")).toBe(messageIdFor("k1", "soc.example"));
    expect(messageIdFor("k1", "soc.example")).not.toBe(messageIdFor("k2", "soc.example"));
    expect(messageIdFor("k1\r\nX: y", "soc.example")).toMatch(/^<[0-9a-f]{40}@soc\.example>$/);
  });
});
