/**
 * A deterministic HubSpot CRM dataset: the same companies (names and domains) as the orders stand-in,
 * each with contacts and deals, plus the owners (sales reps) they are assigned to. The tenant becomes
 * the custom company/contact/deal property `region` ("emea" | "na").
 *
 * Two deliberately messy records for cross-system joins:
 * - "Fjord Maritime AS" also lists `hs_additional_domains` = "fjord-maritime.com";
 * - "Hudson Data Systems" has its domain typed as " HudsonData.IO " (mixed case, whitespace).
 */
import { buildOrdersSeed, SEED_COMPANIES } from "../orders/seed-data.ts";
import { DAY, rng } from "../stand-in/seed.ts";

export type CrmObjectType = "companies" | "contacts" | "deals";

/** One CRM object as HubSpot stores it: every property value is a string. */
export interface CrmRecord {
  id: string;
  properties: Record<string, string>;
  /** ISO timestamps (same as the createdate / hs_lastmodifieddate properties). */
  createdAt: string;
  updatedAt: string;
}

export interface CrmOwner {
  id: string;
  userId: number;
  firstName: string;
  lastName: string;
  email: string;
  /** The team the owner belongs to, e.g. "EMEA Sales". */
  team: { id: string; name: string };
  createdAt: string;
  updatedAt: string;
}

/** An undirected link between two objects; the server serves it in both directions. */
export interface CrmAssociation {
  fromType: CrmObjectType;
  fromId: string;
  toType: CrmObjectType;
  toId: string;
}

export interface CrmSeed {
  companies: CrmRecord[];
  contacts: CrmRecord[];
  deals: CrmRecord[];
  owners: CrmOwner[];
  associations: CrmAssociation[];
}

export const LIFECYCLE_STAGES = ["lead", "opportunity", "customer", "evangelist"] as const;
export const DEAL_STAGES = [
  "appointmentscheduled",
  "qualifiedtobuy",
  "presentationscheduled",
  "contractsent",
  "closedwon",
  "closedlost",
] as const;

/** Every date in the seed is relative to this instant, so the dataset never changes. */
const REFERENCE = Date.UTC(2025, 9, 1, 9, 0, 0);

const OWNERS: Array<[first: string, last: string, region: string]> = [
  ["Sofia", "Lindqvist", "emea"],
  ["Marek", "Dvořák", "emea"],
  ["Jordan", "Ellis", "na"],
  ["Priya", "Raman", "na"],
];

/** name → [industry (HubSpot enum value), city, country]. */
const COMPANY_DETAILS: Record<string, [industry: string, city: string, country: string]> = {
  "Nordlicht Logistik GmbH": ["TRANSPORTATION_TRUCKING_RAILROAD", "Hamburg", "Germany"],
  "Fjord Maritime AS": ["MARITIME", "Bergen", "Norway"],
  "Atelier Lumière SARL": ["DESIGN", "Lyon", "France"],
  "Baltic Timber OÜ": ["PAPER_FOREST_PRODUCTS", "Tallinn", "Estonia"],
  "Castellana Foods S.L.": ["FOOD_PRODUCTION", "Madrid", "Spain"],
  "Vltava Optics s.r.o.": ["ELECTRICAL_ELECTRONIC_MANUFACTURING", "Prague", "Czechia"],
  "Thames Precision Ltd": ["MACHINERY", "Reading", "United Kingdom"],
  "Alpenrose Pharma AG": ["PHARMACEUTICALS", "Basel", "Switzerland"],
  "Helios Solar BV": ["RENEWABLES_ENVIRONMENT", "Eindhoven", "Netherlands"],
  "Danube Textiles Kft": ["TEXTILES", "Budapest", "Hungary"],
  "Saimaa Paper Oy": ["PAPER_FOREST_PRODUCTS", "Lappeenranta", "Finland"],
  "Lusitania Cork Lda": ["CONSUMER_GOODS", "Porto", "Portugal"],
  "Tiber Instruments S.p.A.": ["ELECTRICAL_ELECTRONIC_MANUFACTURING", "Rome", "Italy"],
  "Vistula Robotics Sp. z o.o.": ["INDUSTRIAL_AUTOMATION", "Kraków", "Poland"],
  "Liffey Analytics DAC": ["INFORMATION_TECHNOLOGY_AND_SERVICES", "Dublin", "Ireland"],
  "Aegean Ceramics SA": ["BUILDING_MATERIALS", "Athens", "Greece"],
  "Oresund Biotech AB": ["BIOTECHNOLOGY", "Malmö", "Sweden"],
  "Rhine Valley Tools GmbH": ["MACHINERY", "Karlsruhe", "Germany"],
  "Cascade Outfitters Inc.": ["SPORTING_GOODS", "Seattle", "United States"],
  "Great Lakes Freight LLC": ["TRANSPORTATION_TRUCKING_RAILROAD", "Chicago", "United States"],
  "Sonoran Solar Corp.": ["RENEWABLES_ENVIRONMENT", "Phoenix", "United States"],
  "Maple Leaf Robotics Ltd.": ["INDUSTRIAL_AUTOMATION", "Toronto", "Canada"],
  "Bayou Chemical Co.": ["CHEMICALS", "Baton Rouge", "United States"],
  "Rocky Ridge Mining Inc.": ["MINING_METALS", "Denver", "United States"],
  "Hudson Data Systems": ["COMPUTER_SOFTWARE", "New York", "United States"],
  "Prairie Grain Cooperative": ["FARMING", "Omaha", "United States"],
  "Pacific Crest Medical": ["MEDICAL_DEVICES", "Portland", "United States"],
  "Appalachian Woodworks": ["FURNITURE", "Asheville", "United States"],
  "Sierra Optics LLC": ["ELECTRICAL_ELECTRONIC_MANUFACTURING", "Sacramento", "United States"],
  "Gulf Coast Marine": ["MARITIME", "Houston", "United States"],
  "Yukon Outdoor Gear": ["SPORTING_GOODS", "Whitehorse", "Canada"],
  "Mesa Verde Foods": ["FOOD_PRODUCTION", "Albuquerque", "United States"],
  "Chesapeake Analytics": ["INFORMATION_TECHNOLOGY_AND_SERVICES", "Baltimore", "United States"],
  "Ozark Furniture Works": ["FURNITURE", "Springfield", "United States"],
  "Cumberland Textiles": ["TEXTILES", "Nashville", "United States"],
};

const FIRST_NAMES: Record<string, string[]> = {
  emea: [
    "Lena",
    "Matteo",
    "Ingrid",
    "Tomás",
    "Sophie",
    "Jakub",
    "Aino",
    "Pieter",
    "Zsófia",
    "Giulia",
    "Erik",
  ],
  na: ["Avery", "Marcus", "Jenna", "Tyler", "Carmen", "Derek", "Olivia", "Raj", "Brooke", "Ethan", "Keisha"],
};
const LAST_NAMES: Record<string, string[]> = {
  emea: [
    "Schneider",
    "Halvorsen",
    "Martin",
    "Tamm",
    "Ruiz",
    "Keller",
    "de Vries",
    "Nagy",
    "Virtanen",
    "Sousa",
  ],
  na: ["Johnson", "Nguyen", "Patel", "Reyes", "Thompson", "Walsh", "Kim", "Brooks", "Carter", "Lopez"],
};
const JOB_TITLES = [
  "Head of Procurement",
  "Operations Manager",
  "CFO",
  "Logistics Coordinator",
  "Purchasing Lead",
  "IT Director",
  "Accounts Payable Specialist",
  "Plant Manager",
  "VP Supply Chain",
];
const DEAL_THEMES = [
  "Annual supply renewal",
  "Sensor retrofit",
  "Pump replacement programme",
  "Pallet framework agreement",
  "Motion controller upgrade",
  "Spare parts contract",
  "Barcode scanner pilot",
  "Second site expansion",
];
const PHONE_PREFIX: Record<string, string> = { emea: "+49 30", na: "+1 415" };
const LEGAL_SUFFIX =
  /\s+(GmbH|AS|SARL|OÜ|S\.L\.|s\.r\.o\.|Ltd\.?|AG|BV|Kft|Oy|Lda|S\.p\.A\.|Sp\. z o\.o\.|DAC|SA|AB|Inc\.|LLC|Corp\.|Co\.)$/;

const iso = (ms: number) => new Date(ms).toISOString();
const emailLocal = (s: string) =>
  s
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "");

export function buildCrmSeed(): CrmSeed {
  const r = rng(0x6a7e5eed);
  const seed: CrmSeed = { companies: [], contacts: [], deals: [], owners: [], associations: [] };

  OWNERS.forEach(([firstName, lastName, region], i) => {
    const created = REFERENCE - (900 - i * 40) * DAY;
    seed.owners.push({
      id: String(501 + i),
      userId: 9001 + i,
      firstName,
      lastName,
      email: `${emailLocal(firstName)}.${emailLocal(lastName)}@gatehouse-demo.example`,
      team: region === "emea" ? { id: "71", name: "EMEA Sales" } : { id: "72", name: "NA Sales" },
      createdAt: iso(created),
      updatedAt: iso(created + 30 * DAY),
    });
  });
  const ownersByRegion = (region: string) =>
    seed.owners.filter((_, i) => OWNERS[i]?.[2] === region).map((o) => o.id);

  // The orders stand-in's contact per customer becomes the company's first CRM contact, so the email
  // on an order is found in the CRM too. Built with the orders database's own options (names and
  // emails do not depend on `now`, but they do on the number of orders drawn from the same generator).
  const orderContacts = new Map(
    buildOrdersSeed({ now: new Date(REFERENCE) }).customers.map((c) => [c.domain, c]),
  );

  let companyNo = 1000;
  let contactNo = 2000;
  let dealNo = 3000;
  for (const [region, companies] of Object.entries(SEED_COMPANIES)) {
    const owners = ownersByRegion(region);
    for (const [name, domain] of companies) {
      const companyId = String(++companyNo);
      const [industry, city, country] = COMPANY_DETAILS[name] ?? [
        "WHOLESALE",
        "",
        region === "na" ? "United States" : "Germany",
      ];
      const ownerId = r.pick(owners);
      const created = REFERENCE - r.int(300, 1400) * DAY - r.int(0, DAY - 1);
      const modified = REFERENCE - r.int(1, 120) * DAY - r.int(0, DAY - 1);
      const stageRoll = r.int(0, 9);
      const lifecyclestage =
        stageRoll < 1 ? "lead" : stageRoll < 3 ? "opportunity" : stageRoll < 8 ? "customer" : "evangelist";
      const properties: Record<string, string> = {
        hs_object_id: companyId,
        name,
        domain: name === "Hudson Data Systems" ? " HudsonData.IO " : domain,
        region,
        industry,
        lifecyclestage,
        hubspot_owner_id: ownerId,
        city,
        country,
        createdate: iso(created),
        hs_lastmodifieddate: iso(modified),
      };
      if (name === "Fjord Maritime AS") properties.hs_additional_domains = "fjord-maritime.com";
      seed.companies.push({ id: companyId, properties, createdAt: iso(created), updatedAt: iso(modified) });

      // Contacts: 2–4, the first one shared with the orders stand-in.
      const contactIds: string[] = [];
      const used = new Set<string>();
      const contactCount = r.int(2, 4);
      const fromOrders = orderContacts.get(domain);
      for (let n = 0; n < contactCount; n++) {
        let firstname: string;
        let lastname: string;
        let email: string;
        let phone: string;
        if (n === 0 && fromOrders) {
          [firstname = "", lastname = ""] = fromOrders.contactName.split(" ");
          email = fromOrders.contactEmail;
          phone = fromOrders.contactPhone;
        } else {
          do {
            firstname = r.pick(FIRST_NAMES[region] ?? FIRST_NAMES.emea!);
            lastname = r.pick(LAST_NAMES[region] ?? LAST_NAMES.emea!);
            email = `${emailLocal(firstname)}.${emailLocal(lastname)}@${domain}`;
          } while (used.has(email));
          phone = `${PHONE_PREFIX[region] ?? "+49 30"} ${r.int(100, 999)} ${r.int(1000, 9999)}`;
        }
        used.add(email);
        const id = String(++contactNo);
        const cCreated = Math.min(created + r.int(1, 200) * DAY, REFERENCE - 2 * DAY);
        const cModified = Math.max(cCreated, REFERENCE - r.int(1, 90) * DAY);
        seed.contacts.push({
          id,
          properties: {
            hs_object_id: id,
            firstname,
            lastname,
            email,
            phone,
            jobtitle: r.pick(JOB_TITLES),
            region,
            hubspot_owner_id: ownerId,
            createdate: iso(cCreated),
            lastmodifieddate: iso(cModified),
            hs_lastmodifieddate: iso(cModified),
          },
          createdAt: iso(cCreated),
          updatedAt: iso(cModified),
        });
        contactIds.push(id);
        seed.associations.push({ fromType: "companies", fromId: companyId, toType: "contacts", toId: id });
      }

      // Deals: 1–5, each tied to the company and to one of its contacts.
      const shortName = name.replace(LEGAL_SUFFIX, "");
      const dealCount = r.int(1, 5);
      for (let n = 0; n < dealCount; n++) {
        const id = String(++dealNo);
        const dealstage = r.pick(DEAL_STAGES);
        const closed = dealstage === "closedwon" || dealstage === "closedlost";
        const dCreated = Math.min(created + r.int(10, 400) * DAY, REFERENCE - 20 * DAY);
        const closedate = closed
          ? Math.min(dCreated + r.int(14, 120) * DAY, REFERENCE - DAY)
          : REFERENCE + r.int(7, 150) * DAY;
        const dModified = closed ? closedate : REFERENCE - r.int(1, 14) * DAY;
        seed.deals.push({
          id,
          properties: {
            hs_object_id: id,
            dealname: `${shortName} – ${r.pick(DEAL_THEMES)}`,
            amount: String(r.int(8, 400) * 250),
            dealstage,
            pipeline: "default",
            closedate: iso(closedate),
            hubspot_owner_id: r.int(0, 4) === 0 ? r.pick(owners) : ownerId,
            region,
            createdate: iso(dCreated),
            hs_lastmodifieddate: iso(dModified),
          },
          createdAt: iso(dCreated),
          updatedAt: iso(dModified),
        });
        seed.associations.push({ fromType: "companies", fromId: companyId, toType: "deals", toId: id });
        seed.associations.push({
          fromType: "deals",
          fromId: id,
          toType: "contacts",
          toId: r.pick(contactIds),
        });
      }
    }
  }
  return seed;
}
