/**
 * A deterministic, realistic orders dataset: two tenants, a few dozen customer companies, hundreds of
 * orders with late shipments, refunds and unpaid invoices. The same companies (by domain) appear in the
 * CRM stand-in so cross-system joins line up.
 */

import { DAY, rng } from "../stand-in/seed.ts";

export interface SeedCustomer {
  id: string;
  tenant: string;
  name: string;
  domain: string;
  contactName: string;
  contactEmail: string;
  contactPhone: string;
  createdAt: Date;
}

export interface SeedOrder {
  id: string;
  tenant: string;
  customerId: string;
  status: "open" | "shipped" | "delivered" | "cancelled";
  orderedAt: Date;
  promisedAt: Date;
  currency: string;
  totalCents: number;
}

export interface SeedOrderLine {
  orderId: string;
  lineNo: number;
  sku: string;
  description: string;
  quantity: number;
  unitPriceCents: number;
}

export interface SeedShipment {
  id: string;
  orderId: string;
  carrier: string;
  trackingNumber: string;
  status: "pending" | "in_transit" | "delivered" | "exception";
  shippedAt: Date | null;
  deliveredAt: Date | null;
}

export interface SeedInvoice {
  id: string;
  orderId: string;
  tenant: string;
  amountCents: number;
  issuedAt: Date;
  dueAt: Date;
  status: "open" | "paid" | "partially_paid" | "refunded" | "void";
}

export interface SeedPayment {
  id: string;
  invoiceId: string;
  kind: "payment" | "refund";
  amountCents: number;
  method: string;
  receivedAt: Date;
}

export interface OrdersSeed {
  customers: SeedCustomer[];
  orders: SeedOrder[];
  lines: SeedOrderLine[];
  shipments: SeedShipment[];
  invoices: SeedInvoice[];
  payments: SeedPayment[];
}

/** Companies per tenant; `crm` seeding reuses these names and domains. */
export const SEED_COMPANIES: Record<string, Array<[name: string, domain: string]>> = {
  emea: [
    ["Nordlicht Logistik GmbH", "nordlicht-logistik.de"],
    ["Fjord Maritime AS", "fjordmaritime.no"],
    ["Atelier Lumière SARL", "atelier-lumiere.fr"],
    ["Baltic Timber OÜ", "baltictimber.ee"],
    ["Castellana Foods S.L.", "castellanafoods.es"],
    ["Vltava Optics s.r.o.", "vltava-optics.cz"],
    ["Thames Precision Ltd", "thamesprecision.co.uk"],
    ["Alpenrose Pharma AG", "alpenrose-pharma.ch"],
    ["Helios Solar BV", "heliossolar.nl"],
    ["Danube Textiles Kft", "danubetextiles.hu"],
    ["Saimaa Paper Oy", "saimaapaper.fi"],
    ["Lusitania Cork Lda", "lusitaniacork.pt"],
    ["Tiber Instruments S.p.A.", "tiberinstruments.it"],
    ["Vistula Robotics Sp. z o.o.", "vistularobotics.pl"],
    ["Liffey Analytics DAC", "liffeyanalytics.ie"],
    ["Aegean Ceramics SA", "aegeanceramics.gr"],
    ["Oresund Biotech AB", "oresundbiotech.se"],
    ["Rhine Valley Tools GmbH", "rhinevalleytools.de"],
  ],
  na: [
    ["Cascade Outfitters Inc.", "cascadeoutfitters.com"],
    ["Great Lakes Freight LLC", "greatlakesfreight.com"],
    ["Sonoran Solar Corp.", "sonoransolar.com"],
    ["Maple Leaf Robotics Ltd.", "mapleleafrobotics.ca"],
    ["Bayou Chemical Co.", "bayouchemical.com"],
    ["Rocky Ridge Mining Inc.", "rockyridgemining.com"],
    ["Hudson Data Systems", "hudsondata.io"],
    ["Prairie Grain Cooperative", "prairiegrain.coop"],
    ["Pacific Crest Medical", "pacificcrestmed.com"],
    ["Appalachian Woodworks", "appwoodworks.com"],
    ["Sierra Optics LLC", "sierraoptics.com"],
    ["Gulf Coast Marine", "gulfcoastmarine.com"],
    ["Yukon Outdoor Gear", "yukonoutdoor.ca"],
    ["Mesa Verde Foods", "mesaverdefoods.com"],
    ["Chesapeake Analytics", "chesapeakeanalytics.com"],
    ["Ozark Furniture Works", "ozarkfurniture.com"],
    ["Cumberland Textiles", "cumberlandtextiles.com"],
  ],
};

const CURRENCY: Record<string, string> = { emea: "EUR", na: "USD" };
const PHONE_PREFIX: Record<string, string> = { emea: "+49 30", na: "+1 415" };
const FIRST = [
  "Ana",
  "Ben",
  "Chloe",
  "Dmitri",
  "Elif",
  "Farah",
  "Gustav",
  "Hana",
  "Ivan",
  "Jonas",
  "Kira",
  "Luca",
  "Maya",
  "Nils",
  "Omar",
  "Priya",
];
const LAST = [
  "Berg",
  "Costa",
  "Dubois",
  "Eriksen",
  "Fischer",
  "Garcia",
  "Horvat",
  "Ito",
  "Jansen",
  "Kowalski",
  "Larsen",
  "Moreau",
  "Novak",
  "Okafor",
];
const PRODUCTS: Array<[sku: string, description: string, priceCents: number]> = [
  ["GH-PAL-100", "Euro pallet, heat treated", 2_450],
  ["GH-SEN-220", "Temperature sensor, industrial", 18_900],
  ["GH-CBL-005", "Shielded cable, 5 m", 1_275],
  ["GH-PMP-310", "Diaphragm pump", 74_500],
  ["GH-VAL-042", "Ball valve, stainless", 8_990],
  ["GH-CTL-900", "Motion controller", 129_000],
  ["GH-FLT-017", "Replacement filter set", 3_450],
  ["GH-BRG-250", "Roller bearing kit", 6_780],
  ["GH-LBL-001", "Thermal labels, 1000 pcs", 2_199],
  ["GH-SCN-550", "Barcode scanner", 21_900],
];
const CARRIERS = ["DHL", "UPS", "FedEx", "DB Schenker", "Kuehne+Nagel"];

/**
 * Builds the dataset relative to `now`, so "late" and "overdue" stay meaningful whenever it is seeded.
 * Order numbers are global (SO-100001…), so an id says nothing about its tenant: only policy does.
 */
export function buildOrdersSeed(
  opts: { now?: Date; ordersPerTenant?: number; seed?: number } = {},
): OrdersSeed {
  const now = (opts.now ?? new Date()).getTime();
  const r = rng(opts.seed ?? 20261121);
  const perTenant = opts.ordersPerTenant ?? 180;
  const seed: OrdersSeed = {
    customers: [],
    orders: [],
    lines: [],
    shipments: [],
    invoices: [],
    payments: [],
  };
  let orderNo = 100_000;
  let customerNo = 0;

  for (const [tenant, companies] of Object.entries(SEED_COMPANIES)) {
    const customers = companies.map(([name, domain]) => {
      customerNo++;
      const first = r.pick(FIRST);
      const last = r.pick(LAST);
      const c: SeedCustomer = {
        id: `CUST-${String(customerNo).padStart(4, "0")}`,
        tenant,
        name,
        domain,
        contactName: `${first} ${last}`,
        contactEmail: `${first}.${last}@${domain}`.toLowerCase(),
        contactPhone: `${PHONE_PREFIX[tenant]} ${r.int(100, 999)} ${r.int(1000, 9999)}`,
        createdAt: new Date(now - r.int(400, 1500) * DAY),
      };
      seed.customers.push(c);
      return c;
    });

    for (let i = 0; i < perTenant; i++) {
      const customer = r.pick(customers);
      const id = `SO-${++orderNo}`;
      const orderedAt = now - r.int(1, 180) * DAY - r.int(0, DAY - 1);
      const promisedAt = orderedAt + r.int(3, 21) * DAY;
      let total = 0;
      const lineCount = r.int(1, 4);
      for (let n = 1; n <= lineCount; n++) {
        const [sku, description, price] = r.pick(PRODUCTS);
        const quantity = r.int(1, 40);
        total += quantity * price;
        seed.lines.push({ orderId: id, lineNo: n, sku, description, quantity, unitPriceCents: price });
      }

      // Shipment state: most delivered, some in transit past their promise (late), some not shipped yet.
      const roll = r.next();
      const cancelled = roll < 0.04;
      let status: SeedOrder["status"] = "open";
      let shipment: SeedShipment | undefined;
      const tracking = `${r.pick(CARRIERS).slice(0, 3).toUpperCase()}${r.int(10_000_000, 99_999_999)}`;
      if (cancelled) status = "cancelled";
      else if (roll < 0.7 && promisedAt < now) {
        const shippedAt = orderedAt + r.int(1, 5) * DAY;
        const deliveredAt = Math.min(now - DAY, promisedAt + r.int(-3, 4) * DAY);
        status = "delivered";
        shipment = {
          id: `SHP-${id.slice(3)}`,
          orderId: id,
          carrier: r.pick(CARRIERS),
          trackingNumber: tracking,
          status: "delivered",
          shippedAt: new Date(shippedAt),
          deliveredAt: new Date(Math.max(deliveredAt, shippedAt + DAY)),
        };
      } else if (roll < 0.88) {
        status = "shipped";
        const exception = r.next() < 0.15;
        shipment = {
          id: `SHP-${id.slice(3)}`,
          orderId: id,
          carrier: r.pick(CARRIERS),
          trackingNumber: tracking,
          status: exception ? "exception" : "in_transit",
          shippedAt: new Date(Math.min(now - DAY, orderedAt + r.int(1, 6) * DAY)),
          deliveredAt: null,
        };
      }
      if (shipment) seed.shipments.push(shipment);
      seed.orders.push({
        id,
        tenant,
        customerId: customer.id,
        status,
        orderedAt: new Date(orderedAt),
        promisedAt: new Date(promisedAt),
        currency: CURRENCY[tenant] ?? "EUR",
        totalCents: total,
      });

      if (cancelled) continue;
      // Invoices: paid, open (some overdue), partially paid, or refunded.
      const invoiceId = `INV-${id.slice(3)}`;
      const issuedAt = orderedAt + r.int(0, 2) * DAY;
      const dueAt = issuedAt + 30 * DAY;
      const p = r.next();
      let invStatus: SeedInvoice["status"];
      if (p < 0.6 && dueAt - 20 * DAY < now) invStatus = "paid";
      else if (p < 0.72) invStatus = "partially_paid";
      else if (p < 0.8) invStatus = "refunded";
      else invStatus = "open";
      seed.invoices.push({
        id: invoiceId,
        orderId: id,
        tenant,
        amountCents: total,
        issuedAt: new Date(issuedAt),
        dueAt: new Date(dueAt),
        status: invStatus,
      });
      const method = r.pick(["card", "sepa_transfer", "wire", "ach"]);
      const paidAt = Math.min(now - DAY, issuedAt + r.int(3, 28) * DAY);
      if (invStatus === "paid" || invStatus === "refunded") {
        seed.payments.push({
          id: `PAY-${id.slice(3)}-1`,
          invoiceId,
          kind: "payment",
          amountCents: total,
          method,
          receivedAt: new Date(paidAt),
        });
      }
      if (invStatus === "partially_paid") {
        seed.payments.push({
          id: `PAY-${id.slice(3)}-1`,
          invoiceId,
          kind: "payment",
          amountCents: Math.round(total * 0.4),
          method,
          receivedAt: new Date(paidAt),
        });
      }
      if (invStatus === "refunded") {
        seed.payments.push({
          id: `PAY-${id.slice(3)}-2`,
          invoiceId,
          kind: "refund",
          amountCents: total,
          method,
          receivedAt: new Date(Math.min(now - DAY, paidAt + r.int(2, 10) * DAY)),
        });
      }
    }
  }
  return seed;
}
