/** The fields a remoting header carries, whatever its serialization. */
export interface HeaderFields {
  code: number;
  language: number;
  version: number;
  opaque: number;
  flag: number;
  remark: string | null;
  extFields: Map<string, string> | null;
}
