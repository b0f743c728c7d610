import { V1ExportDocument } from '../routes/export-response'
import type { ArchiveDocuments } from '../services/archive-builder'
import { apiExportPlan } from './export-api'
import { v1ExportPlan } from './export-v1'

/** What export archives hold: the dialects' export documents (services/archive-builder.ts). */
export const ARCHIVE_DOCUMENTS: ArchiveDocuments = {
  plans: { api: apiExportPlan, v1: v1ExportPlan },
  jsonSchema: V1ExportDocument,
}
